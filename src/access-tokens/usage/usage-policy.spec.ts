import { describe, expect, it } from '@jest/globals';
import { InvalidUsagePolicyError } from '../core/access-tokens.errors.js';
import { policyOf } from '../storage/policy-columns.js';
import {
  activePolicyOf,
  allowListOf,
  checkPolicy,
  clientAddressOf,
  isAllowed,
  NO_POLICY,
  normalizeAddress,
} from './usage-policy.js';

describe('usage policy', () => {
  it('keeps what is left out as it was, and removes what is null', () => {
    const current = checkPolicy({ rateLimit: { limit: 5, window: 60 }, maxUses: 10, usesPeriod: 3600 }, NO_POLICY);
    expect(checkPolicy({ allowedIps: ['10.0.0.0/8'] }, current)).toEqual({
      rateLimit: { limit: 5, window: 60 },
      maxUses: 10,
      usesPeriod: 3600,
      allowedIps: ['10.0.0.0/8'],
    });
    // No quota, nothing to restore.
    expect(checkPolicy({ maxUses: null }, current)).toMatchObject({ maxUses: null, usesPeriod: null });
    expect(checkPolicy({ rateLimit: null, allowedIps: null }, current)).toMatchObject({
      rateLimit: null,
      allowedIps: null,
    });
  });

  it.each([
    [{ rateLimit: { limit: 0, window: 60 } }, /rateLimit.limit must be a whole number from 1/],
    [{ rateLimit: { limit: 5, window: 0 } }, /rateLimit.window must be a whole number from 1/],
    [{ rateLimit: { limit: 5 } }, /rateLimit.window/],
    [{ rateLimit: 5 }, /rateLimit must be \{ limit, window \} or null/],
    [{ rateLimit: { limit: 1.5, window: 60 } }, /rateLimit.limit/],
    [{ maxUses: 0 }, /maxUses must be a whole number from 1/],
    [{ maxUses: -3 }, /maxUses/],
    [{ maxUses: '10' }, /maxUses/],
    [{ usesPeriod: 60 }, /usesPeriod needs maxUses/],
    [{ maxUses: 3, usesPeriod: 0 }, /usesPeriod must be a whole number from 1/],
    [{ allowedIps: [] }, /allowedIps must list 1 to 100/],
    [{ allowedIps: '10.0.0.1' }, /allowedIps must be a list/],
    [{ allowedIps: ['10.0.0.256'] }, /"10.0.0.256" is not an IPv4 or IPv6 address or CIDR range/],
    [{ allowedIps: ['localhost'] }, /"localhost" is not/],
    [{ allowedIps: ['10.0.0.0/33'] }, /"10.0.0.0\/33" is not/],
    [{ allowedIps: ['2001:db8::/129'] }, /is not/],
    [{ allowedIps: ['10.0.0.0/8/1'] }, /is not/],
    [{ allowedIps: [7] }, /"7" is not/],
  ])('refuses %j, saying which part', (input, message) => {
    expect(() => checkPolicy(input as never, NO_POLICY)).toThrow(InvalidUsagePolicyError);
    expect(() => checkPolicy(input as never, NO_POLICY)).toThrow(message);
  });

  it('stores addresses in one form: lower case, IPv4-mapped IPv6 as IPv4, without duplicates', () => {
    expect(
      checkPolicy({ allowedIps: [' 2001:DB8::/32 ', '::ffff:192.0.2.7', '192.0.2.7', '10.0.0.0/08'] }, NO_POLICY)
        .allowedIps,
    ).toEqual(['2001:db8::/32', '192.0.2.7', '10.0.0.0/8']);
    expect(normalizeAddress('::FFFF:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('::ffff:abcd')).toBe('::ffff:abcd');
  });

  it("gives events the request's address, IPv4-mapped ones as IPv4, or null without one", () => {
    expect(clientAddressOf({ ip: '::ffff:127.0.0.1' })).toBe('127.0.0.1');
    expect(clientAddressOf({ ip: '2001:db8::1' })).toBe('2001:db8::1');
    expect(clientAddressOf({ ip: '' })).toBeNull();
    expect(clientAddressOf({})).toBeNull();
    expect(clientAddressOf(undefined)).toBeNull();
  });

  it('matches client addresses against addresses and ranges, IPv4 and IPv6', () => {
    const list = allowListOf(['203.0.113.0/24', '198.51.100.7', '2001:db8::/32']);
    expect(isAllowed(list, '203.0.113.200')).toBe(true);
    expect(isAllowed(list, '::ffff:203.0.113.9')).toBe(true);
    expect(isAllowed(list, '198.51.100.7')).toBe(true);
    expect(isAllowed(list, '198.51.100.8')).toBe(false);
    expect(isAllowed(list, '2001:db8:1::5')).toBe(true);
    expect(isAllowed(list, '2001:db9::5')).toBe(false);
    // An address the framework did not report is not on any list.
    expect(isAllowed(list, undefined)).toBe(false);
    expect(isAllowed(list, 'not an address')).toBe(false);
  });

  it('gives a token without a policy none to check, and counts a rotated token under its lineage and window', () => {
    expect(activePolicyOf('t1', NO_POLICY)).toBeNull();
    // The caller passes the lineage (the family of a rotated token) as the key its rate limit counts under.
    const active = activePolicyOf(
      'f1',
      policyOf({ rateLimit: 3, rateWindow: 10, maxUses: 5, usesPeriod: 60, allowedIps: null }),
    );
    expect(active).toMatchObject({
      allow: null,
      rateLimit: { limit: 3, window: 10, windowMs: 10_000, key: 'f1:10' },
      counted: true,
      periodMs: 60_000,
    });
    // A new window is a new count; a new limit alone counts on.
    const wider = policyOf({ rateLimit: 30, rateWindow: 10, maxUses: null, usesPeriod: null, allowedIps: null });
    const longer = policyOf({ rateLimit: 3, rateWindow: 60, maxUses: null, usesPeriod: null, allowedIps: null });
    expect(activePolicyOf('f1', wider)?.rateLimit?.key).toBe('f1:10');
    expect(activePolicyOf('f1', longer)?.rateLimit?.key).toBe('f1:60');
  });
});
