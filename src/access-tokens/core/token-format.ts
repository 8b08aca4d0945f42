import { createHmac, hash, randomBytes } from 'node:crypto';
import { KEY_ID_LENGTH, type DerivedKeys, type SigningKeys } from './keys.js';

/**
 * The token format, with no Nest or TypeORM in it.
 *
 * A token reads `<prefix>_<body><checksum>`, in base62 (`0-9A-Za-z`, most significant digit first):
 *
 * | part     | characters | what                                                              |
 * | -------- | ---------- | ----------------------------------------------------------------- |
 * | key id   | 4          | which of the app's secrets signed it (`keys.ts`)                  |
 * | expiry   | 6          | epoch seconds, `000000` for none                                  |
 * | random   | 43         | 32 random bytes                                                   |
 * | MAC      | 24         | HMAC-SHA-256 of `<prefix>_` and the three parts above, truncated  |
 * |          |            | to 128 bits, as four 32-bit words of 6 characters each            |
 * | checksum | 6          | CRC32 (zlib) of the body before it                                |
 *
 * The prefix and checksum are GitHub's scheme, for secret scanners: the prefix finds a leak, the
 * checksum tells a token from a look-alike. Anyone can compute a CRC32, so the MAC is what lets
 * this server refuse a token it did not issue, or one whose signed expiry has passed, before any
 * lookup: such tokens cost no query and no cache entry. The database still decides the rest.
 */

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_BYTES = 32;
/** ceil(256 / log2(62)): enough base62 digits for any 32-byte value. */
const RANDOM_LENGTH = 43;
/** 62^6 > 2^32: six digits per 32-bit word. */
const WORD_LENGTH = 6;
const EXPIRY_LENGTH = 6;
/** The MAC's 128 bits, as four words. */
const MAC_WORDS = 4;
const MAC_LENGTH = MAC_WORDS * WORD_LENGTH;
const CHECKSUM_LENGTH = WORD_LENGTH;
/** Where each part starts in the body. */
const EXPIRY_AT = KEY_ID_LENGTH;
const MAC_AT = EXPIRY_AT + EXPIRY_LENGTH + RANDOM_LENGTH;
const CHECKSUM_AT = MAC_AT + MAC_LENGTH;
const BODY_LENGTH = CHECKSUM_AT + CHECKSUM_LENGTH;
/** The latest expiry six digits can say (year 3769); a later one is signed as none. */
const MAX_SIGNED_EXPIRY = 62 ** EXPIRY_LENGTH - 1;
const NO_EXPIRY = '0'.repeat(EXPIRY_LENGTH);
/** The body, from `lastIndex` to the end: sticky, so that it is checked in place. */
const BODY_PATTERN = /[0-9A-Za-z]+$/y;
const UNDERSCORE = '_'.charCodeAt(0);
/** Each base62 digit's value by character code; -1 for any other character. */
const DIGIT_VALUE = Int8Array.from({ length: 128 }, (_, code) => ALPHABET.indexOf(String.fromCharCode(code)));

/** Lower-case letters and digits, in `_`-separated words, starting with a letter. */
export const TOKEN_PREFIX_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
export const MAX_TOKEN_PREFIX_LENGTH = 20;

/** What checking a token found: nothing wrong with it before the database, or why not. */
export type TokenCheck = 'signed' | 'malformed' | 'expired';

function toBase62(value: bigint, length: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < length; i++) {
    out = ALPHABET[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return out;
}

/** `value` (below 62^6) in six base62 digits. */
function wordToBase62(value: number): string {
  let out = '';
  for (let i = 0, rest = value; i < WORD_LENGTH; i++, rest = Math.floor(rest / 62)) out = ALPHABET[rest % 62] + out;
  return out;
}

/** The value of the six base62 digits of `text` at `at`; the body's alphabet is checked before. */
function base62Word(text: string, at: number): number {
  let value = 0;
  for (let i = at; i < at + WORD_LENGTH; i++) value = value * 62 + DIGIT_VALUE[text.charCodeAt(i)]!;
  return value;
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

/** The MAC of `signed` (the token up to its MAC), as the token writes it. */
function macOf(keys: DerivedKeys, signed: string): string {
  const digest = createHmac('sha256', keys.tokenMac).update(signed).digest();
  let out = '';
  for (let word = 0; word < MAC_WORDS; word++) out += wordToBase62(digest.readUInt32BE(word * 4));
  return out;
}

/** Whether `raw[at, at + MAC_LENGTH)` is `expected`, in time that does not depend on where they differ. */
function macMatches(raw: string, at: number, expected: string): boolean {
  let difference = 0;
  for (let i = 0; i < MAC_LENGTH; i++) difference |= raw.charCodeAt(at + i) ^ expected.charCodeAt(i);
  return difference === 0;
}

/**
 * Returns a new raw token with the given prefix, signed with `keys` and carrying `expiresAt`
 * (epoch milliseconds, a whole second; `null` for none).
 */
export function generateToken(prefix: string, keys: DerivedKeys, expiresAt: number | null): string {
  const seconds = expiresAt === null ? null : Math.ceil(expiresAt / 1000);
  const expiry = seconds === null || seconds > MAX_SIGNED_EXPIRY ? NO_EXPIRY : wordToBase62(seconds);
  const random = toBase62(BigInt(`0x${randomBytes(RANDOM_BYTES).toString('hex')}`), RANDOM_LENGTH);
  const signed = `${prefix}_${keys.id}${expiry}${random}`;
  const body = `${keys.id}${expiry}${random}${macOf(keys, signed)}`;
  return `${prefix}_${body}${wordToBase62(crc32Of(body, 0, body.length))}`;
}

/** Whether `raw[at, at + CHECKSUM_LENGTH)` is the checksum of `raw[start, at)`, without a copy. */
function checksumMatches(raw: string, start: number, at: number): boolean {
  let rest = crc32Of(raw, start, at);
  for (let i = at + CHECKSUM_LENGTH - 1; i >= at; i--) {
    if (raw.charCodeAt(i) !== ALPHABET.charCodeAt(rest % 62)) return false;
    rest = Math.floor(rest / 62);
  }
  return true;
}

/**
 * Where the body of `raw` starts if it has the form of a token for one of `prefixes` (prefix,
 * length, alphabet and checksum), or -1. Costs a CRC32: what anyone can check, scanners included.
 */
function bodyStart(raw: string, prefixes: readonly string[]): number {
  for (const prefix of prefixes) {
    const start = prefix.length + 1;
    if (raw.length !== start + BODY_LENGTH || !raw.startsWith(prefix) || raw.charCodeAt(prefix.length) !== UNDERSCORE)
      continue;
    BODY_PATTERN.lastIndex = start;
    return BODY_PATTERN.test(raw) && checksumMatches(raw, start, start + CHECKSUM_AT) ? start : -1;
  }
  return -1;
}

/** The length of a raw token of `prefix`: what a cache of verified tokens can check before hashing. */
export function tokenLength(prefix: string): number {
  return prefix.length + 1 + BODY_LENGTH;
}

/**
 * Whether `raw` has the form of a token for one of `prefixes`: what a secret scanner can check,
 * without the app's keys. Costs a CRC32.
 */
export function hasTokenForm(raw: string, prefixes: readonly string[]): boolean {
  return bodyStart(raw, prefixes) >= 0;
}

/**
 * The first step of `checkToken`, for a caller that looks in a cache of verified tokens before the
 * rest: where the body of `raw` starts if it has the form of a token for one of `prefixes` and
 * names a key of `keys`, or -1 (`malformed`). Costs a CRC32. A token found in a cache keyed by its
 * hash is the very string that passed `checkSignature` when it was cached.
 */
export function signedBodyStart(raw: string, prefixes: readonly string[], keys: SigningKeys): number {
  const start = bodyStart(raw, prefixes);
  return start >= 0 && keys.byId.has(raw.slice(start, start + KEY_ID_LENGTH)) ? start : -1;
}

/**
 * The rest of `checkToken` for the body `signedBodyStart` found: the MAC (compared in constant
 * time), then the signed expiry against `now` (epoch ms). Costs an HMAC.
 */
export function checkSignature(raw: string, start: number, keys: SigningKeys, now: number): TokenCheck {
  const signer = keys.byId.get(raw.slice(start, start + KEY_ID_LENGTH))!;
  const macAt = start + MAC_AT;
  if (!macMatches(raw, macAt, macOf(signer, raw.slice(0, macAt)))) return 'malformed';
  const expiry = base62Word(raw, start + EXPIRY_AT);
  return expiry !== 0 && expiry * 1000 <= now ? 'expired' : 'signed';
}

/**
 * What `raw` says of itself before the database is asked, in this order: the form of a token for
 * one of `prefixes` and its checksum, a key id of `keys`, the MAC, the signed expiry against `now`
 * (epoch ms). Costs a CRC32 and, for a token of a known key, an HMAC; no I/O.
 */
export function checkToken(raw: string, prefixes: readonly string[], keys: SigningKeys, now: number): TokenCheck {
  const start = signedBodyStart(raw, prefixes, keys);
  return start < 0 ? 'malformed' : checkSignature(raw, start, keys, now);
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
 * characters, which belong to the checksum and so reveal nothing of the random part or the MAC.
 */
export function tokenHint(raw: string): string {
  const separator = raw.length - BODY_LENGTH - 1;
  return `${raw.slice(0, separator + 1)}…${raw.slice(-4)}`;
}
