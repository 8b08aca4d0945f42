import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The token format, with no Nest or TypeORM in it.
 *
 * A token reads `<prefix>_<secret><checksum>`: `secret` is 32 random bytes in base62 (43
 * characters), `checksum` the CRC32 of `secret` in base62 (6 characters). This is the scheme GitHub
 * uses: the prefix lets secret scanners find leaked tokens, and the checksum lets both them and
 * `parseToken` reject a mistyped or invented token without touching the database.
 */

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET_BYTES = 32;
/** ceil(256 / log2(62)): enough base62 digits for any 32-byte value. */
const SECRET_LENGTH = 43;
/** ceil(32 / log2(62)): enough base62 digits for any CRC32. */
const CHECKSUM_LENGTH = 6;
const BODY_LENGTH = SECRET_LENGTH + CHECKSUM_LENGTH;
const BODY_PATTERN = /^[0-9A-Za-z]+$/;

/** Lower-case letters and digits, in `_`-separated words, starting with a letter. */
export const TOKEN_PREFIX_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
export const MAX_TOKEN_PREFIX_LENGTH = 20;

function toBase62(value: bigint, length: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return out;
}

/** Runs on every request: plain number arithmetic, as a CRC32 fits in a double exactly. */
function checksumOf(secret: string): string {
  let rest = crc32(secret);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

/** Returns a new raw token with the given prefix. */
export function generateToken(prefix: string): string {
  const secret = toBase62(BigInt(`0x${randomBytes(SECRET_BYTES).toString('hex')}`), SECRET_LENGTH);
  return `${prefix}_${secret}${checksumOf(secret)}`;
}

/**
 * Returns the prefix of `raw` if it is a well-formed token for one of `prefixes` (right prefix,
 * length, alphabet and checksum), or `null`. Costs a CRC32 and no I/O.
 */
export function parseToken(raw: string, prefixes: readonly string[]): string | null {
  for (const prefix of prefixes) {
    if (raw.length !== prefix.length + 1 + BODY_LENGTH || !raw.startsWith(`${prefix}_`)) continue;
    const body = raw.slice(prefix.length + 1);
    if (!BODY_PATTERN.test(body)) return null;
    const secret = body.slice(0, SECRET_LENGTH);
    return body.slice(SECRET_LENGTH) === checksumOf(secret) ? prefix : null;
  }
  return null;
}

/** The SHA-256 of the raw token, hex-encoded: what the database stores and looks up. */
export function hashToken(raw: string): string {
  return hash('sha256', raw, 'hex');
}

/**
 * A short, non-secret label for recognising a token in a list: the prefix and the last four
 * characters, which belong to the checksum and so reveal nothing of the secret.
 */
export function tokenHint(raw: string): string {
  const separator = raw.length - BODY_LENGTH - 1;
  return `${raw.slice(0, separator + 1)}…${raw.slice(-4)}`;
}
