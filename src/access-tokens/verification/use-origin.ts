import { isIP } from 'node:net';
import type { AuthenticatableRequest } from '../access-tokens.interfaces.js';
import { boundedUserAgent } from '../core/text.js';
import { normalizeAddress } from '../usage/usage-policy.js';

/** What the request path reads of a request: its client's address, and its headers where it has them. */
export type UseRequest = Pick<AuthenticatableRequest, 'ip'> & Partial<Pick<AuthenticatableRequest, 'headers'>>;

/**
 * The client's address of `request` as recorded with a use: the framework's `request.ip` (so
 * `trust proxy` / `trustProxy` decide whether a forwarded address counts), an IPv4-mapped IPv6
 * address as IPv4; `null` without a request, or if it is not an IP address.
 */
export function addressOf(request: UseRequest | undefined): string | null {
  const ip = request?.ip;
  if (typeof ip !== 'string') return null;
  const address = normalizeAddress(ip);
  return isIP(address) === 0 ? null : address;
}

/** The user agent of `request` as recorded with a use (`boundedUserAgent`); `null` when it sent none. */
export function userAgentOf(request: UseRequest | undefined): string | null {
  return boundedUserAgent(request?.headers?.['user-agent']);
}
