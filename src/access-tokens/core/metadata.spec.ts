import { describe, expect, it } from '@jest/globals';
import { InvalidMetadataError } from './access-tokens.errors.js';
import { checkMetadata, frozenMetadata, METADATA_LIMITS } from './metadata.js';

/** The message `checkMetadata` refuses `value` with. */
function refusal(value: unknown): string {
  try {
    checkMetadata(value);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidMetadataError);
    expect((error as InvalidMetadataError).code).toBe('invalid_metadata');
    return (error as Error).message;
  }
  throw new Error('accepted');
}

/** `levels` arrays nested in one another. */
function nested(levels: number): unknown {
  let value: unknown = [];
  for (let level = 1; level < levels; level++) value = [value];
  return value;
}

describe('token metadata', () => {
  it('keeps a JSON object as it is, in a copy the caller cannot change afterwards', () => {
    const given = {
      team: 'billing',
      cost: 12.5,
      on: true,
      none: null,
      tags: ['a', 'b', { deep: [1, 2] }],
      'clé 🔑': 'été\tnote\nline',
    };
    const checked = checkMetadata(given);
    expect(checked).toEqual(given);
    given.tags.push('c');
    expect(checked.tags).toEqual(['a', 'b', { deep: [1, 2] }]);
    expect(checkMetadata(Object.assign(Object.create(null) as object, { a: 1 }))).toEqual({ a: 1 });
  });

  it('refuses anything but a plain object, saying so', () => {
    for (const value of [null, [], 'text', 7, new Date(), new Map(), () => 1]) {
      expect(refusal(value)).toMatch(/^metadata must be a JSON object/);
    }
  });

  it('refuses values JSON has no room for, naming where they are', () => {
    expect(refusal({ a: { b: [1, Infinity] } })).toBe('metadata.a.b[1] must be a finite number');
    expect(refusal({ a: NaN })).toBe('metadata.a must be a finite number');
    expect(refusal({ a: undefined })).toMatch(/^metadata\.a is a undefined: values must be/);
    expect(refusal({ a: [1n] })).toMatch(/^metadata\.a\[0\] is a bigint/);
    expect(refusal({ when: new Date(0) })).toBe('metadata.when must be a plain JSON object, not a Date');
    // eslint-disable-next-line no-sparse-arrays -- a hole is no JSON value
    expect(refusal({ a: [1, , 3] })).toMatch(/^metadata\.a\[1\] is a undefined/);
  });

  it('refuses keys that mean something to JavaScript, or are too long or not printable', () => {
    expect(refusal(JSON.parse('{"x": {"__proto__": {"admin": true}}}'))).toBe(
      'metadata.x may not have the key "__proto__"',
    );
    expect(refusal({ constructor: 1 })).toBe('metadata may not have the key "constructor"');
    expect(refusal({ a: { prototype: 1 } })).toBe('metadata.a may not have the key "prototype"');
    expect(refusal({ ['k'.repeat(METADATA_LIMITS.maxKeyLength + 1)]: 1 })).toMatch(
      /has a key that is not 1 to 64 printable characters: "k{64}"…$/,
    );
    expect(refusal({ '': 1 })).toMatch(/has a key that is not 1 to 64/);
    expect(refusal({ 'a\u0000b': 1 })).toMatch(/has a key that is not 1 to 64/);
    expect(checkMetadata({ ['k'.repeat(METADATA_LIMITS.maxKeyLength)]: 1 })).toBeTruthy();
  });

  it('refuses strings a database cannot store: NUL and other control characters, lone surrogates', () => {
    expect(refusal({ a: 'x\u0000y' })).toBe(
      'metadata.a holds a control character (other than tab and line breaks) or a lone surrogate',
    );
    expect(refusal({ 'a b': ['\u001b[31m'] })).toMatch(/^metadata\["a b"\]\[0\] holds a control character/);
    expect(refusal({ a: '\uD800' })).toMatch(/lone surrogate/);
  });

  it('bounds the depth, checked before going deeper: 10,000 levels, or an object that holds itself, are refused at once', () => {
    expect(checkMetadata({ a: nested(METADATA_LIMITS.maxDepth - 1) })).toBeTruthy();
    expect(refusal({ a: nested(METADATA_LIMITS.maxDepth) })).toBe(
      'metadata.a[0][0][0][0] is nested too deep: objects and arrays at most 5 levels deep',
    );
    expect(refusal({ a: nested(10_000) })).toMatch(/is nested too deep/);
    const cycle: Record<string, unknown> = { name: 'loop' };
    cycle.self = cycle;
    expect(refusal(cycle)).toBe(
      'metadata.self.self.self.self.self is nested too deep: objects and arrays at most 5 levels deep',
    );
  });

  it('bounds the size of its JSON in UTF-8 bytes, and stops early on a huge input', () => {
    // {"a":"…"}: 8 bytes around the string.
    expect(checkMetadata({ a: 'x'.repeat(METADATA_LIMITS.maxBytes - 8) })).toBeTruthy();
    expect(refusal({ a: 'x'.repeat(METADATA_LIMITS.maxBytes - 7) })).toBe(
      'metadata may be at most 4096 bytes of JSON (UTF-8)',
    );
    // Three bytes each in UTF-8, one character in JavaScript.
    expect(refusal({ a: '€'.repeat(1400) })).toMatch(/at most 4096 bytes/);
    // A million keys or items: refused once the budget is spent, having read a few thousand of them
    // (counted, not timed: a timing says more about the machine than about the check).
    let reads = 0;
    const counted = <T extends object>(target: T): T =>
      new Proxy(target, {
        get: (object, key, receiver) => {
          reads++;
          return Reflect.get(object, key, receiver) as unknown;
        },
      });
    const many = counted(Object.fromEntries(Array.from({ length: 1_000_000 }, (_, index) => [`k${index}`, 1])));
    expect(refusal(many)).toMatch(/at most 4096 bytes/);
    expect(reads).toBeLessThan(10_000);
    reads = 0;
    expect(refusal({ list: counted(new Array(1_000_000).fill(0)) })).toMatch(/at most 4096 bytes/);
    expect(reads).toBeLessThan(10_000);
  });

  it('freezes metadata all the way down', () => {
    const metadata = frozenMetadata(checkMetadata({ a: { b: [1, { c: 2 }] } }))!;
    expect(Object.isFrozen(metadata)).toBe(true);
    expect(Object.isFrozen((metadata.a as { b: object[] }).b[1])).toBe(true);
    expect(frozenMetadata(null)).toBeNull();
  });
});
