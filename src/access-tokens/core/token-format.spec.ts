import { describe, expect, it } from '@jest/globals';
import { crc32 } from 'node:zlib';
import { generateToken, hashToken, parseToken, tokenHint } from './token-format.js';

describe('token format', () => {
  it('generates <prefix>_<43 base62 secret><6 base62 checksum> tokens that parse', () => {
    const token = generateToken('nat');
    expect(token).toMatch(/^nat_[0-9A-Za-z]{49}$/);
    expect(parseToken(token, ['nat'])).toBe('nat');
  });

  it('never repeats a token', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => generateToken('nat')));
    expect(tokens.size).toBe(1000);
  });

  it('rejects a wrong prefix, length, alphabet or checksum', () => {
    const token = generateToken('nat');
    const body = token.slice(4);
    expect(parseToken(token, ['other'])).toBeNull();
    expect(parseToken(`nat_${body}x`, ['nat'])).toBeNull();
    expect(parseToken(token.slice(0, -1), ['nat'])).toBeNull();
    expect(parseToken(`nat_${body.slice(0, -1)}-`, ['nat'])).toBeNull();
    // One changed character anywhere in the secret breaks the checksum.
    const flipped = body[0] === 'a' ? 'b' : 'a';
    expect(parseToken(`nat_${flipped}${body.slice(1)}`, ['nat'])).toBeNull();
    expect(parseToken('', ['nat'])).toBeNull();
  });

  it('checksums with the standard CRC32, so that secret scanners can check tokens', () => {
    for (let i = 0; i < 100; i++) {
      const token = generateToken('nat');
      let crc = crc32(token.slice(4, 47));
      let checksum = '';
      for (let digit = 0; digit < 6; digit++) {
        checksum = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'[crc % 62] + checksum;
        crc = Math.floor(crc / 62);
      }
      expect(token.slice(47)).toBe(checksum);
    }
  });

  it('tells apart prefixes that extend each other', () => {
    const session = generateToken('nat_s');
    expect(parseToken(session, ['nat', 'nat_s'])).toBe('nat_s');
    expect(parseToken(generateToken('nat'), ['nat', 'nat_s'])).toBe('nat');
  });

  it('hashes with SHA-256', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hints with the prefix and the last four characters only', () => {
    const token = generateToken('nat');
    expect(tokenHint(token)).toBe(`nat_…${token.slice(-4)}`);
    expect(tokenHint(generateToken('nat_s'))).toMatch(/^nat_s_…[0-9A-Za-z]{4}$/);
  });
});
