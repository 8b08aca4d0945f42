import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { deriveKeys, secretProblem, signingKeys } from './keys.js';

const SECRET = 'V9w1Fpm3uwtLImgC-zG9kn7wR9Iwu49Rrk2T8ft9g-g';

describe('secrets', () => {
  it.each([
    ['missing', undefined, 'is missing'],
    ['empty', '', 'is missing'],
    ['not a string', 42, 'is missing'],
    ['short', 'Zr8mW2qLx5Tb0Yk7', 'is 16 bytes long; it needs at least 32'],
    ['changeme', 'changeme-changeme-changeme-changeme', 'contains "changeme"'],
    ['a secret that says so', 'my-Super-SECRET-key-for-production-2026', 'contains "secret"'],
    ['one character', 'x'.repeat(64), 'repeats a few characters'],
    ['a repeated word', 'abcd1234'.repeat(5), 'repeats a few characters'],
  ])('refuses a secret that is %s', (_case, secret, problem) => {
    expect(secretProblem(secret)).toContain(problem);
  });

  it('takes what openssl rand or randomBytes make, in base64, base64url or hex', () => {
    for (let i = 0; i < 200; i++) {
      const bytes = randomBytes(32);
      for (const encoding of ['base64', 'base64url', 'hex'] as const)
        expect(secretProblem(bytes.toString(encoding))).toBeNull();
    }
  });

  it('derive keys apart per purpose and per secret, and an id that is not the secret', () => {
    const a = deriveKeys(SECRET);
    expect(a.tokenMac.equals(a.fingerprint)).toBe(false);
    expect(a.id).toMatch(/^[0-9A-Za-z]{4}$/);
    expect(deriveKeys(SECRET)).toEqual(a);
    expect(deriveKeys(`${SECRET}x`).tokenMac.equals(a.tokenMac)).toBe(false);
  });

  it('refuse the same secret twice in a rotation list', () => {
    expect(() => signingKeys([SECRET, SECRET])).toThrow('secret #2 is the same as an earlier one');
  });
});
