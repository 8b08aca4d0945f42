import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { deriveKeys, signingKeys } from './keys.js';
import { checkToken, generateToken, hashToken, hasTokenForm, tokenHint } from './token-format.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET = 'V9w1Fpm3uwtLImgC-zG9kn7wR9Iwu49Rrk2T8ft9g-g';
const keys = signingKeys([SECRET]);
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0);
const HOUR = 3_600_000;

function base62(value: number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++, value = Math.floor(value / 62)) out = ALPHABET[value % 62] + out;
  return out;
}

/** `raw` with the body character at `index` replaced by another one of the alphabet. */
function changedAt(raw: string, index: number): string {
  const other = ALPHABET[(ALPHABET.indexOf(raw[index]!) + 1 + Math.floor(Math.random() * 61)) % 62]!;
  return `${raw.slice(0, index)}${other}${raw.slice(index + 1)}`;
}

/** `raw` with its body changed at `index` and the CRC32 recomputed, as a forger can. */
function forgedAt(raw: string, index: number, start = 4): string {
  const changed = changedAt(raw, index);
  const body = changed.slice(start, -6);
  return `${changed.slice(0, start)}${body}${base62(crc32(body), 6)}`;
}

describe('token format', () => {
  it('generates <prefix>_<key id><expiry><random><MAC><checksum>, all base62, that check as signed', () => {
    const token = generateToken('nat', keys.current, NOW + HOUR);
    expect(token).toMatch(/^nat_[0-9A-Za-z]{83}$/);
    expect(token.slice(4, 8)).toBe(keys.current.id);
    expect(checkToken(token, ['nat'], keys, NOW)).toBe('signed');
    expect(hasTokenForm(token, ['nat'])).toBe(true);
  });

  it('never repeats a token', () => {
    const tokens = new Set(Array.from({ length: 1000 }, () => generateToken('nat', keys.current, null)));
    expect(tokens.size).toBe(1000);
  });

  it('signs the prefix, key id, expiry and random part with HMAC-SHA-256 truncated to 128 bits', () => {
    const token = generateToken('nat', keys.current, NOW + HOUR);
    const digest = createHmac('sha256', deriveKeys(SECRET).tokenMac)
      .update(token.slice(0, 4 + 53))
      .digest();
    const mac = [0, 4, 8, 12].map((at) => base62(digest.readUInt32BE(at), 6)).join('');
    expect(token.slice(4 + 53, 4 + 77)).toBe(mac);
  });

  it('checksums with the standard CRC32 of the body, so that secret scanners can check tokens', () => {
    for (let i = 0; i < 100; i++) {
      const token = generateToken('nat', keys.current, i % 2 ? null : NOW);
      expect(token.slice(-6)).toBe(base62(crc32(token.slice(4, -6)), 6));
    }
  });

  it('refuses a token with any one character of its body changed, checksum recomputed or not', () => {
    const token = generateToken('nat', keys.current, NOW + HOUR);
    for (let index = 4; index < token.length; index++) {
      expect([index, checkToken(changedAt(token, index), ['nat'], keys, NOW)]).toEqual([index, 'malformed']);
      if (index < token.length - 6)
        expect([index, checkToken(forgedAt(token, index), ['nat'], keys, NOW)]).toEqual([index, 'malformed']);
    }
  });

  it('refuses a wrong prefix, length or alphabet, and what is not a string of the form', () => {
    const token = generateToken('nat', keys.current, null);
    const body = token.slice(4);
    for (const raw of [
      token.replace('nat_', 'oth_'),
      `nat_${body}x`,
      token.slice(0, -1),
      `nat_${body.slice(0, -1)}-`,
      `nat-${body}`,
      '',
    ]) {
      expect(checkToken(raw, ['nat'], keys, NOW)).toBe('malformed');
    }
    expect(checkToken(token, ['other'], keys, NOW)).toBe('malformed');
  });

  it('binds the signature to the prefix: a token cannot be relabelled as another kind', () => {
    const session = generateToken('nat_s', keys.current, null);
    const relabelled = `nat_r_${session.slice('nat_s_'.length)}`;
    expect(checkToken(session, ['nat', 'nat_s'], keys, NOW)).toBe('signed');
    expect(checkToken(relabelled, ['nat_r'], keys, NOW)).toBe('malformed');
    expect(checkToken(generateToken('nat', keys.current, null), ['nat', 'nat_s'], keys, NOW)).toBe('signed');
  });

  it('refuses a token of a key id it was not given, and one signed by another secret under a known id', () => {
    const other = deriveKeys('Zr8mW2qLx5Tb0Yk7Nc3Vh9Pf4Gd1Js6B');
    expect(checkToken(generateToken('nat', other, null), ['nat'], keys, NOW)).toBe('malformed');
    expect(checkToken(generateToken('nat', { ...other, id: keys.current.id }, null), ['nat'], keys, NOW)).toBe(
      'malformed',
    );
  });

  it("checks tokens of every secret given and signs with the first; a removed secret's tokens fail", () => {
    const next = 'Lm4Qx8Rw1Tz6Yb2Vc9Nh3Pf7Gd0Js5K';
    const rotated = signingKeys([next, SECRET]);
    const old = generateToken('nat', keys.current, null);
    expect(rotated.current.id).toBe(deriveKeys(next).id);
    expect(checkToken(old, ['nat'], rotated, NOW)).toBe('signed');
    const fresh = generateToken('nat', rotated.current, null);
    expect(checkToken(fresh, ['nat'], rotated, NOW)).toBe('signed');
    expect(checkToken(old, ['nat'], signingKeys([next]), NOW)).toBe('malformed');
    expect(checkToken(fresh, ['nat'], keys, NOW)).toBe('malformed');
  });

  it('says expired from the first millisecond of the signed expiry, and never for no expiry', () => {
    const expiresAt = NOW + HOUR;
    const token = generateToken('nat', keys.current, expiresAt);
    expect(checkToken(token, ['nat'], keys, expiresAt - 1)).toBe('signed');
    expect(checkToken(token, ['nat'], keys, expiresAt)).toBe('expired');
    expect(checkToken(token, ['nat'], keys, expiresAt + 365 * 24 * HOUR)).toBe('expired');
    const forever = generateToken('nat', keys.current, null);
    expect(forever.slice(8, 14)).toBe('000000');
    expect(checkToken(forever, ['nat'], keys, Date.UTC(3700, 0, 1))).toBe('signed');
  });

  it('signs an expiry beyond six digits (year 3769) as none, leaving it to the database', () => {
    const token = generateToken('nat', keys.current, Date.UTC(4000, 0, 1));
    expect(token.slice(8, 14)).toBe('000000');
  });

  it('hashes with SHA-256', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hints with the prefix and the last four characters only', () => {
    const token = generateToken('nat', keys.current, null);
    expect(tokenHint(token)).toBe(`nat_…${token.slice(-4)}`);
    expect(tokenHint(generateToken('nat_s', keys.current, null))).toMatch(/^nat_s_…[0-9A-Za-z]{4}$/);
  });
});
