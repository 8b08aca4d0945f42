import type { TokenMetadata, TokenMetadataValue } from '../storage/access-token.entity.js';
import { InvalidMetadataError } from './access-tokens.errors.js';
import { isPrintableText } from './text.js';

/** The bounds of a token's metadata. */
export const METADATA_LIMITS = {
  /** Its JSON, in UTF-8 bytes. */
  maxBytes: 4096,
  /** Objects and arrays nested in one another, the metadata object itself the first. */
  maxDepth: 5,
  /** A key, in characters. */
  maxKeyLength: 64,
} as const;

/** Keys that mean something to JavaScript's objects, refused so that no reader of the metadata trips on them. */
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * What a string value may not hold: control characters other than tab, line feed and carriage
 * return (NUL above all, which PostgreSQL refuses), and lone surrogates, which have no UTF-8 form.
 */
const UNSTORABLE_VALUE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Where a value sits in the metadata, as the error names it: `metadata.build.tags[2]`. */
function pathOf(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (text, part) =>
      typeof part === 'number'
        ? `${text}[${part}]`
        : /^[A-Za-z_$][\w$]*$/.test(part)
          ? `${text}.${part}`
          : `${text}[${JSON.stringify(part)}]`,
    'metadata',
  );
}

/** Whether `value` is an object literal's kind of object: `Object.prototype` or no prototype, not a class instance. */
function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Checks a token's metadata as given to `issue()` or `update()` (or in a route's body), and returns
 * a copy of it as stored: a plain object of JSON values (strings, finite numbers, booleans, `null`,
 * arrays, plain objects), at most {@link METADATA_LIMITS}`.maxBytes` of JSON in UTF-8, nested at
 * most `maxDepth` deep, its keys 1 to `maxKeyLength` printable characters and none of `__proto__`,
 * `constructor`, `prototype`. Throws `InvalidMetadataError` naming the first value at fault.
 *
 * Safe on any input: the depth is checked before going deeper, so that a structure nested
 * thousands deep, or one that contains itself, is refused at the bound rather than overflowing the
 * stack; and the walk stops once the strings and keys seen already exceed the size.
 */
export function checkMetadata(value: unknown): TokenMetadata {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !isPlainObject(value)) {
    throw new InvalidMetadataError('metadata must be a JSON object, such as {"team": "billing"}');
  }
  // The characters seen so far: each is at least one byte of the JSON, so past the limit it is too big.
  let budget: number = METADATA_LIMITS.maxBytes;
  const tooBig = () =>
    new InvalidMetadataError(`metadata may be at most ${METADATA_LIMITS.maxBytes} bytes of JSON (UTF-8)`);
  const spend = (characters: number) => {
    budget -= characters;
    if (budget < 0) throw tooBig();
  };

  const copy = (item: unknown, path: (string | number)[], depth: number): TokenMetadataValue => {
    if (item === null || typeof item === 'boolean') return item;
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) throw new InvalidMetadataError(`${pathOf(path)} must be a finite number`);
      return item;
    }
    if (typeof item === 'string') {
      if (UNSTORABLE_VALUE.test(item)) {
        throw new InvalidMetadataError(
          `${pathOf(path)} holds a control character (other than tab and line breaks) or a lone surrogate`,
        );
      }
      spend(item.length);
      return item;
    }
    if (typeof item !== 'object') {
      throw new InvalidMetadataError(
        `${pathOf(path)} is a ${typeof item}: values must be strings, numbers, booleans, null, arrays or objects`,
      );
    }
    // Checked before going in: a deeper structure, or one that contains itself, stops here.
    if (depth >= METADATA_LIMITS.maxDepth) {
      throw new InvalidMetadataError(
        `${pathOf(path)} is nested too deep: objects and arrays at most ${METADATA_LIMITS.maxDepth} levels deep`,
      );
    }
    return container(item, path, depth + 1);
  };

  const container = (item: object, path: (string | number)[], depth: number): TokenMetadataValue => {
    if (Array.isArray(item)) {
      const items: TokenMetadataValue[] = [];
      for (let index = 0; index < item.length; index++) {
        spend(1);
        items.push(copy((item as unknown[])[index], [...path, index], depth));
      }
      return items;
    }
    if (!isPlainObject(item)) {
      throw new InvalidMetadataError(
        `${pathOf(path)} must be a plain JSON object, not a ${item.constructor?.name ?? 'class instance'}`,
      );
    }
    const object: TokenMetadata = {};
    for (const key of Object.keys(item)) {
      if (RESERVED_KEYS.has(key)) throw new InvalidMetadataError(`${pathOf(path)} may not have the key "${key}"`);
      if (key.length === 0 || key.length > METADATA_LIMITS.maxKeyLength || !isPrintableText(key)) {
        throw new InvalidMetadataError(
          `${pathOf(path)} has a key that is not 1 to ${METADATA_LIMITS.maxKeyLength} printable characters: ${JSON.stringify(key.slice(0, METADATA_LIMITS.maxKeyLength))}${key.length > METADATA_LIMITS.maxKeyLength ? '…' : ''}`,
        );
      }
      spend(key.length + 1);
      // Defined, not assigned: a key is data, whatever it is called.
      Object.defineProperty(object, key, {
        value: copy((item as Record<string, unknown>)[key], [...path, key], depth),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return object;
  };

  const checked = container(value, [], 1) as TokenMetadata;
  if (Buffer.byteLength(JSON.stringify(checked), 'utf8') > METADATA_LIMITS.maxBytes) throw tooBig();
  return checked;
}

/** Freezes `metadata` and every object and array in it, so that requests sharing a cached view cannot change it. */
export function frozenMetadata(metadata: TokenMetadata | null): TokenMetadata | null {
  const freeze = (value: TokenMetadataValue): void => {
    if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
    for (const item of Array.isArray(value) ? value : Object.values(value)) freeze(item);
    Object.freeze(value);
  };
  if (metadata !== null) freeze(metadata);
  return metadata;
}
