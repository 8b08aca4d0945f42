import type { PresentingRequest } from '../access-tokens.interfaces.js';
import { boundedUserAgent } from '../core/text.js';

/** The user agent of `request` as recorded with a use or an alert (`boundedUserAgent`); `null` when it sent none. */
export function userAgentOf(request: PresentingRequest | undefined): string | null {
  return boundedUserAgent(request?.headers?.['user-agent']);
}
