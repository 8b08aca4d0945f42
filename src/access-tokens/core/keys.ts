import { createHmac, hkdfSync } from 'node:crypto';
import { InvalidOptionsError } from './access-tokens.errors.js';

/**
 * The keys derived from the app's secret, with no Nest or TypeORM in it.
 *
 * The secret is never used as a key itself: HKDF-SHA-256 (RFC 5869) derives one key per purpose
 * from it, so that a key leaked or misused for one purpose says nothing of the others, and the
 * secret itself need not be kept once they are derived.
 */

/** The fewest bytes a secret may have: as many as the MAC key it stands behind. */
export const MIN_SECRET_BYTES = 32;
/** Characters of a key id in a token: 62^4 ids, enough to tell a handful of secrets apart. */
export const KEY_ID_LENGTH = 4;

const HKDF_SALT = 'nestjs-access-tokens';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** What one secret stands for: the keys derived from it. */
export interface DerivedKeys {
  /** Names these keys in a token: derived too, so that it reveals nothing of the secret. */
  readonly id: string;
  /** The HMAC-SHA-256 key of token signatures. */
  readonly tokenMac: Buffer;
  /** The HMAC-SHA-256 key of the fingerprints of users' watched fields. */
  readonly fingerprint: Buffer;
}

/** The keys of the app's secrets: the first signs, every one verifies. */
export interface SigningKeys {
  /** The keys new tokens and fingerprints are made with. */
  readonly current: DerivedKeys;
  /** Every secret's keys, the current ones first. */
  readonly all: readonly DerivedKeys[];
  /** Every secret's keys by id, for a token to name its own. */
  readonly byId: ReadonlyMap<string, DerivedKeys>;
}

/** Why a secret cannot be used, or `null`: something a human typed is not a secret. */
export function secretProblem(secret: unknown): string | null {
  if (typeof secret !== 'string' || secret.length === 0) return 'is missing';
  const bytes = Buffer.byteLength(secret);
  if (bytes < MIN_SECRET_BYTES) return `is ${bytes} bytes long; it needs at least ${MIN_SECRET_BYTES}`;
  const folded = secret.toLowerCase().replace(/[^a-z0-9]/g, '');
  const word = PLACEHOLDER_WORDS.find((placeholder) => folded.includes(placeholder));
  if (word) return `contains "${word}": it looks like a placeholder, not a random value`;
  // Random text of 32 characters from any alphabet of 16 or more has 10 or more distinct ones
  // but for odds below one in 10,000 (hex); a repeated word or character has a handful.
  if (new Set(secret).size < 10) return 'repeats a few characters: it looks like a placeholder, not a random value';
  return null;
}

/** Words found in secrets that were typed, not generated. */
const PLACEHOLDER_WORDS = [
  'changeme',
  'secret',
  'password',
  'placeholder',
  'example',
  'replaceme',
  'default',
  'insecure',
];

/** How to make a secret, for the errors that ask for one. */
export const SECRET_ADVICE =
  'generate one with `openssl rand -base64 32` (or `node -e "console.log(crypto.randomBytes(32).toString(\'base64url\'))"`) and pass it from the environment or a secret store, never from the code';

function derive(secret: string, purpose: string, bytes: number): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, `${purpose} v1`, bytes));
}

/** The keys of one secret. */
export function deriveKeys(secret: string): DerivedKeys {
  let id = derive(secret, 'key id', 4).readUInt32BE(0) % 62 ** KEY_ID_LENGTH;
  let name = '';
  for (let i = 0; i < KEY_ID_LENGTH; i++, id = Math.floor(id / 62)) name = ALPHABET[id % 62] + name;
  return { id: name, tokenMac: derive(secret, 'token mac', 32), fingerprint: derive(secret, 'user fingerprint', 32) };
}

/**
 * The keys of the secrets, the first current. Throws `InvalidOptionsError` (without the secret)
 * when two secrets stand for the same key id, which a token could not tell apart.
 */
export function signingKeys(secrets: readonly string[]): SigningKeys {
  const all = secrets.map(deriveKeys);
  const byId = new Map<string, DerivedKeys>();
  for (const [index, keys] of all.entries()) {
    if (byId.has(keys.id))
      throw new InvalidOptionsError(
        `secret #${index + 1} is the same as an earlier one, or derives the same key id: replace it`,
      );
    byId.set(keys.id, keys);
  }
  return { current: all[0]!, all, byId };
}

/** HMAC-SHA-256 of `data` under `key`, for the keyed hashes other than token signatures. */
export function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
