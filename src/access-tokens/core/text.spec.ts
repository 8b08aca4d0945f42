import { describe, expect, it } from '@jest/globals';
import { boundedUserAgent, isPrintableText, MAX_USER_AGENT_LENGTH } from './text.js';

describe('boundedUserAgent', () => {
  it('keeps an ordinary user agent as it is', () => {
    expect(boundedUserAgent('curl/8.5.0')).toBe('curl/8.5.0');
    expect(boundedUserAgent('Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0')).toBe(
      'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
    );
  });

  it('is null without a user agent, or with nothing printable in it', () => {
    expect(boundedUserAgent(undefined)).toBeNull();
    expect(boundedUserAgent(42)).toBeNull();
    expect(boundedUserAgent('')).toBeNull();
    expect(boundedUserAgent('\u0000\r\n\t ')).toBeNull();
  });

  it('takes the first of a repeated header', () => {
    expect(boundedUserAgent(['first/1', 'second/2'])).toBe('first/1');
    expect(boundedUserAgent([])).toBeNull();
  });

  it('turns each run of control characters into one space and a lone surrogate into U+FFFD', () => {
    expect(boundedUserAgent('evil\r\nSet-Cookie: x\u0000\u0000y\u001b[31m')).toBe('evil Set-Cookie: x y [31m');
    expect(boundedUserAgent('a\u0085b\u2028c')).toBe('a b c');
    expect(boundedUserAgent('lone \uD800 and \uDC00 end')).toBe('lone \uFFFD and \uFFFD end');
    expect(isPrintableText(boundedUserAgent('x\uD83D')!)).toBe(true);
  });

  it('reads a header of UTF-8 bytes (as Node gives them, one character a byte) as UTF-8', () => {
    const asNodeReadsIt = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
    expect(boundedUserAgent(asNodeReadsIt('App/1 (Überall) 😀'))).toBe('App/1 (Überall) 😀');
    // Latin-1 that is not UTF-8 stays as it is.
    expect(boundedUserAgent('caf\u00e9/1')).toBe('caf\u00e9/1');
    // C1 controls that are no UTF-8 are replaced.
    expect(boundedUserAgent('a\u0085\u009fb')).toBe('a b');
    // A character cut by the read of a huge header is left out.
    expect(boundedUserAgent(asNodeReadsIt(`a${'é'.repeat(1000)}`))).toBe(`a${'é'.repeat(254)}`);
  });

  it('cuts a long one to 255 characters between code points', () => {
    const bounded = boundedUserAgent('a'.repeat(1_000_000))!;
    expect(bounded).toHaveLength(MAX_USER_AGENT_LENGTH);
    // An emoji (two UTF-16 units) across the cut is left out whole.
    const emoji = boundedUserAgent(`${'a'.repeat(254)}😀tail`)!;
    expect(emoji).toBe('a'.repeat(254));
    expect(boundedUserAgent(`${'a'.repeat(253)}😀tail`)).toBe(`${'a'.repeat(253)}😀`);
    for (const text of [bounded, emoji]) expect(isPrintableText(text)).toBe(true);
  });
});
