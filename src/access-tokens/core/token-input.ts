import { InvalidExpiryError, InvalidTokenNameError } from './access-tokens.errors.js';
import { isPrintableText } from './text.js';

const MAX_NAME_LENGTH = 100;

/** A token's name as given, trimmed: 1 to 100 printable characters, or `InvalidTokenNameError`. */
export function validTokenName(name: unknown): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  // Control characters (NUL above all, which PostgreSQL refuses) and lone surrogates are no name.
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH || !isPrintableText(trimmed))
    throw new InvalidTokenNameError();
  return trimmed;
}

/** The lifetime in seconds of a token asked to expire in `expiresIn`, within `tokens`' limits, or `InvalidExpiryError`. */
export function tokenLifetime(
  expiresIn: number | null | undefined,
  tokens: { readonly lifetimeSeconds: number | null; readonly maxLifetimeSeconds: number | null },
): number | null {
  const { lifetimeSeconds, maxLifetimeSeconds } = tokens;
  if (expiresIn === undefined) return lifetimeSeconds;
  if (expiresIn === null) {
    if (maxLifetimeSeconds === null) return null;
    throw new InvalidExpiryError(`Tokens must expire: give expiresIn in seconds, at most ${maxLifetimeSeconds}`);
  }
  if (!Number.isSafeInteger(expiresIn) || expiresIn <= 0) {
    throw new InvalidExpiryError('expiresIn must be a positive whole number of seconds');
  }
  if (maxLifetimeSeconds !== null && expiresIn > maxLifetimeSeconds) {
    throw new InvalidExpiryError(`expiresIn may be at most ${maxLifetimeSeconds} seconds`);
  }
  return expiresIn;
}
