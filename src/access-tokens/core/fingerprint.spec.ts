import { describe, expect, it } from '@jest/globals';
import { canonicalValue, Fingerprinter, sameValue } from './fingerprint.js';
import { deriveKeys } from './keys.js';

const key = (secret: string) => deriveKeys(secret.padEnd(40, '-x7Qz')).fingerprint;

describe('fingerprints', () => {
  const alice = { id: 1, username: 'alice', passwordHash: '$2b$10$abc', blocked: false, bio: 'x' };
  const fingerprinter = new Fingerprinter(['username', 'passwordHash'], [key('first')]);

  it('stay the same while the watched fields do', () => {
    const stored = fingerprinter.of(alice);
    expect(fingerprinter.isStale(stored, { ...alice })).toBe(false);
    expect(fingerprinter.isStale(stored, { ...alice, bio: 'changed' })).toBe(false);
  });

  it('are the same once remembered, and go stale on a change, however many users pass in between', () => {
    const fresh = new Fingerprinter(['username', 'passwordHash'], [key('first')]);
    const stored = fresh.of(alice);
    for (let i = 0; i < 2_500; i++) fresh.of({ ...alice, username: `user${i}` });
    expect(fresh.of(alice)).toBe(stored);
    expect(fresh.isStale(stored, { ...alice })).toBe(false);
    expect(fresh.isStale(stored, { ...alice, passwordHash: '$2b$10$def' })).toBe(true);
    // The same values under another key are another fingerprint, not a remembered one.
    expect(new Fingerprinter(['username', 'passwordHash'], [key('second'), key('first')]).of(alice)).not.toBe(stored);
  });

  it('go stale when a watched field changes', () => {
    const stored = fingerprinter.of(alice);
    expect(fingerprinter.isStale(stored, { ...alice, passwordHash: '$2b$10$def' })).toBe(true);
    expect(fingerprinter.isStale(stored, { ...alice, username: 'alicia' })).toBe(true);
  });

  it('depend on the key, and reveal no field', () => {
    const other = new Fingerprinter(['username', 'passwordHash'], [key('other')]);
    expect(other.of(alice)).not.toBe(fingerprinter.of(alice));
    expect(fingerprinter.of(alice)).not.toContain('alice');
  });

  it('stay checked under every key given, the first making them', () => {
    const rotated = new Fingerprinter(['username', 'passwordHash'], [key('next'), key('first')]);
    const stored = fingerprinter.of(alice);
    expect(rotated.isStale(stored, alice)).toBe(false);
    expect(rotated.isStale(stored, { ...alice, passwordHash: '$2b$10$def' })).toBe(true);
    expect(rotated.of(alice)).not.toBe(stored);
    expect(fingerprinter.isStale(rotated.of(alice), { ...alice, passwordHash: '$2b$10$def' })).toBe(false);
  });

  it('leave tokens made with another field list or a retired key unchecked', () => {
    const stored = new Fingerprinter(['username'], [key('first')]).of(alice);
    expect(fingerprinter.isStale(stored, { ...alice, username: 'changed' })).toBe(false);
    expect(fingerprinter.isStale(null, alice)).toBe(false);
  });

  it('are absent when no field is watched', () => {
    expect(new Fingerprinter([], [key('first')]).of(alice)).toBeNull();
  });

  it('read values the same from entities and from drivers', () => {
    expect(canonicalValue(true)).toBe(canonicalValue(1));
    expect(sameValue(false, 0)).toBe(true);
    expect(sameValue(new Date(0), new Date(0))).toBe(true);
    expect(sameValue(null, undefined)).toBe(true);
    expect(sameValue('a', 'b')).toBe(false);
  });
});
