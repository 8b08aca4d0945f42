import { hash, randomBytes } from 'node:crypto';

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
/** The body, from `lastIndex` to the end: sticky, so that it is checked in place. */
const BODY_PATTERN = /[0-9A-Za-z]+$/y;
const UNDERSCORE = '_'.charCodeAt(0);

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

/** The CRC-32 (ISO-HDLC, as zlib computes it) lookup table. */
const CRC_TABLE = Int32Array.from({ length: 256 }, (_, byte) => {
  let crc = byte;
  for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  return crc;
});

/**
 * The CRC32 of `text[start, end)`, base62 characters being their own bytes. In JavaScript rather
 * than `zlib.crc32`: it runs on every request, and reading the characters in place costs less than
 * handing a slice of them to native code.
 */
function crc32Of(text: string, start: number, end: number): number {
  let crc = -1;
  for (let i = start; i < end; i++) crc = CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

function checksumOf(secret: string): string {
  return toBase62(BigInt(crc32Of(secret, 0, secret.length)), CHECKSUM_LENGTH);
}

/** Whether `raw[at, at + CHECKSUM_LENGTH)` is the checksum of the secret before it, without a copy. */
function checksumMatches(raw: string, at: number): boolean {
  let rest = crc32Of(raw, at - SECRET_LENGTH, at);
  for (let i = at + CHECKSUM_LENGTH - 1; i >= at; i--) {
    if (raw.charCodeAt(i) !== ALPHABET.charCodeAt(rest % 62)) return false;
    rest = Math.floor(rest / 62);
  }
  return true;
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
    const start = prefix.length + 1;
    if (raw.length !== start + BODY_LENGTH || !raw.startsWith(prefix) || raw.charCodeAt(prefix.length) !== UNDERSCORE) continue;
    BODY_PATTERN.lastIndex = start;
    if (!BODY_PATTERN.test(raw)) return null;
    return checksumMatches(raw, start + SECRET_LENGTH) ? prefix : null;
  }
  return null;
}

/** The form of a token's (and a session's) id: a UUID as `crypto.randomUUID()` writes it. */
const TOKEN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `id` can be a token's id; anything else is not looked up. */
export function isTokenId(id: unknown): id is string {
  return typeof id === 'string' && TOKEN_ID.test(id);
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
