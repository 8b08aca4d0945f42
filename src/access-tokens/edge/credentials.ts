import { InvalidRequestError } from '../core/access-tokens.errors.js';
import { isPrintableText } from '../core/text.js';

/**
 * Reading credentials off a request, with no Nest in it.
 *
 * Accepted: `Authorization: Bearer <token>`; `Authorization: Basic base64(<token>:)` (the token as
 * user name, empty password, so `curl http://TOKEN:@host/` works);
 * `?<credentials.queryParameter>=<token>` only when the app names one
 * (`credentials.queryParameter`). `Basic base64(<user>:<password>)` is returned as a password for
 * the routes that accept one.
 */

/** What a request presents. */
export type PresentedCredentials =
  | { readonly type: 'none' }
  | { readonly type: 'token'; readonly token: string; readonly via: 'bearer' | 'basic' | 'query' }
  | { readonly type: 'password'; readonly username: string; readonly password: string };

/** The parts of a request that can carry credentials. */
export interface CredentialSources {
  /** The `Authorization` header. */
  readonly authorization?: string | undefined;
  /** The token's query parameter (`credentials.queryParameter`), as the framework parsed it. */
  readonly queryToken?: unknown;
}

/** RFC 6750 `b64token`. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Longer than any token, user name or password this module deals with. */
const MAX_CREDENTIAL_LENGTH = 1024;

const NONE: PresentedCredentials = { type: 'none' };

/**
 * Returns the credentials a request presents; `queryParameter` is `credentials.queryParameter`:
 * `false`, or the name of the query parameter `sources.queryToken` was read from. Throws
 * `InvalidRequestError` for a malformed `Authorization` header, or a token sent both in the header
 * and the query.
 */
export function readCredentials(sources: CredentialSources, queryParameter: string | false): PresentedCredentials {
  const fromHeader = sources.authorization === undefined ? NONE : fromAuthorization(sources.authorization);
  if (queryParameter === false || sources.queryToken === undefined) return fromHeader;
  if (fromHeader.type !== 'none') {
    throw new InvalidRequestError(
      `The request sends credentials both in the Authorization header and the ${queryParameter} query parameter: send one`,
    );
  }
  if (typeof sources.queryToken !== 'string' || !B64TOKEN.test(sources.queryToken)) {
    throw new InvalidRequestError(`The ${queryParameter} query parameter must be given once, as a token`);
  }
  return { type: 'token', token: sources.queryToken, via: 'query' };
}

function fromAuthorization(header: string): PresentedCredentials {
  if (header.length > MAX_CREDENTIAL_LENGTH) {
    throw new InvalidRequestError('The Authorization header is too long');
  }
  const space = header.indexOf(' ');
  const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
  const value = space === -1 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer') {
    if (!B64TOKEN.test(value)) {
      throw new InvalidRequestError('The Authorization header must read "Bearer <token>"');
    }
    return { type: 'token', token: value, via: 'bearer' };
  }
  if (scheme === 'basic') return fromBasic(value);
  // RFC 6750 §3.1: a request with no Bearer credentials gets a bare challenge, whatever else it sent.
  return NONE;
}

function fromBasic(value: string): PresentedCredentials {
  const decoded = BASE64.test(value) ? Buffer.from(value, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (colon <= 0) {
    throw new InvalidRequestError(
      'The Authorization header must read "Basic base64(<token>:)" or "Basic base64(<user>:<password>)"',
    );
  }
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  // RFC 7617 §2: neither may hold control characters; a NUL would reach the app's user lookup.
  if (!isPrintableText(decoded)) {
    throw new InvalidRequestError('HTTP Basic credentials must not hold control characters');
  }
  if (password !== '') return { type: 'password', username, password };
  // The token as user name (`curl http://TOKEN:@host/`): of a token's form, as after "Bearer ".
  if (!B64TOKEN.test(username)) {
    throw new InvalidRequestError('With an empty HTTP Basic password, the user name must be the token');
  }
  return { type: 'token', token: username, via: 'basic' };
}
