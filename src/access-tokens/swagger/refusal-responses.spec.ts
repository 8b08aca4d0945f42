import { describe, expect, it } from '@jest/globals';
import {
  InvalidTokenError,
  InsufficientScopeError,
  MissingCredentialsError,
  TokenPolicyError,
} from '../core/access-tokens.errors.js';
import { setAnswerHeaders, toHttpAnswer } from '../edge/rfc6750.js';
import {
  accessSentence,
  describeRequirements,
  forbiddenResponse,
  grantingWildcards,
  tooManyRequestsResponse,
  unauthorizedResponse,
} from './refusal-responses.js';

const token = { challengeSchemes: ['Bearer'] as const, password: false, passwordGrant: false };

describe('what the document says of a route', () => {
  it('reads all-of and any-of requirements as sentences', () => {
    expect(describeRequirements([{ allOf: ['users:read'] }])).toBe('the scope `users:read`');
    expect(describeRequirements([{ allOf: ['a', 'b', 'c'] }])).toBe('the scopes `a`, `b` and `c`');
    expect(describeRequirements([{ anyOf: ['a', 'b'] }])).toBe('one of the scopes `a` or `b`');
    expect(describeRequirements([{ allOf: ['a'] }, { anyOf: ['b', 'c'] }])).toBe(
      'the scope `a` and one of the scopes `b` or `c`',
    );
  });

  it('names the wildcards that grant a scope, narrowest first', () => {
    expect(grantingWildcards('billing:invoices:write')).toEqual(['billing:invoices:*', 'billing:*', '*']);
    expect(grantingWildcards('users:*')).toEqual(['*']);
    expect(grantingWildcards('users')).toEqual(['*']);
    expect(grantingWildcards('*')).toEqual([]);
  });

  it('says what a route needs, wildcards included', () => {
    expect(accessSentence(token, [])).toBe('Needs an access token (any scope).');
    expect(accessSentence(token, [{ allOf: ['users:admin'] }])).toBe(
      'Needs an access token with the scope `users:admin`. A token with `users:*` or `*` has it too.',
    );
    expect(accessSentence(token, [{ allOf: ['reports:*'] }])).toBe(
      'Needs an access token with the scope `reports:*`. A token with `*` has it too.',
    );
    expect(accessSentence({ challengeSchemes: ['Basic', 'Bearer'], password: true, passwordGrant: true }, [])).toBe(
      "Needs an access token (any scope), or the user's name and password by HTTP Basic.",
    );
  });

  it('shows in the 401 the bodies and challenges the module sends', () => {
    const response = unauthorizedResponse(
      { challengeSchemes: ['Basic', 'Bearer'], password: true, passwordGrant: true },
      'shop',
    );
    const examples = response.content!['application/json']!.examples as Record<string, { value: unknown }>;
    expect(examples.credentials_missing!.value).toEqual(
      toHttpAnswer(new MissingCredentialsError(['Basic', 'Bearer']), 'shop').body,
    );
    expect(examples.revoked!.value).toMatchObject({
      error: 'invalid_token',
      reason: 'revoked',
      revokedReason: 'revoked_by_user',
    });
    expect(examples.expired!.value).toEqual(toHttpAnswer(new InvalidTokenError('expired'), 'shop').body);
    expect(examples.paused!.value).toEqual(toHttpAnswer(new InvalidTokenError('paused'), 'shop').body);
    expect(examples.paused!.value).toMatchObject({ error: 'invalid_token', reason: 'paused' });
    expect(examples).toHaveProperty('invalid_credentials');
    expect((response.headers!['WWW-Authenticate'] as { example: string }).example).toBe(
      'Basic realm="shop", Bearer realm="shop"',
    );
    expect(unauthorizedResponse(token, 'shop').content!['application/json']!.examples).not.toHaveProperty(
      'invalid_credentials',
    );
  });

  it('shows in the 403 the challenge of each requirement', () => {
    const response = forbiddenResponse([{ allOf: ['a', 'b'] }, { anyOf: ['c', 'd'] }], 'api');
    const examples = response.content!['application/json']!.examples as Record<string, { value: unknown }>;
    expect(Object.keys(examples)).toEqual([
      'insufficient_scope',
      'insufficient_scope_2',
      'ip_not_allowed',
      'uses_exhausted',
    ]);
    expect(examples.insufficient_scope_2!.value).toEqual(
      toHttpAnswer(new InsufficientScopeError(['c', 'd'], 'anyOf'), 'api').body,
    );
    expect((response.headers!['WWW-Authenticate'] as { example: string }).example).toBe(
      toHttpAnswer(new InsufficientScopeError(['a', 'b'], 'allOf'), 'api').challenge,
    );
    expect(response.description).toMatch(
      /^The token lacks a required scope \(`insufficient_scope`\): it needs the scopes `a` and `b` and one of the scopes `c` or `d`\. Or .*`ip_not_allowed`.*`uses_exhausted`/,
    );
  });

  it("shows in the 403 of a route without scopes only a token's usage policy, with no challenge", () => {
    const response = forbiddenResponse([], 'api');
    const examples = response.content!['application/json']!.examples as Record<string, { value: unknown }>;
    expect(Object.keys(examples)).toEqual(['ip_not_allowed', 'uses_exhausted']);
    expect(examples.ip_not_allowed!.value).toEqual(toHttpAnswer(new TokenPolicyError('ip_not_allowed'), 'api').body);
    expect(examples.uses_exhausted!.value).toMatchObject({ statusCode: 403, reason: 'uses_exhausted' });
    expect(response.headers).toBeUndefined();
  });

  it('shows in the 429 the rate limit and its headers, and password attempts only where the grant checks them', () => {
    const response = tooManyRequestsResponse(token, 'api');
    const examples = response.content!['application/json']!.examples as Record<string, { value: unknown }>;
    expect(Object.keys(examples)).toEqual(['rate_limited', 'uses_exhausted']);
    const limited = toHttpAnswer(
      new TokenPolicyError('rate_limited', 42, { limit: 100, window: 60, remaining: 0, reset: 42 }),
      'api',
    );
    expect(examples.rate_limited!.value).toEqual(limited.body);
    expect(examples.uses_exhausted!.value).toMatchObject({ statusCode: 429, reason: 'uses_exhausted' });
    expect(Object.keys(response.headers!)).toEqual(['Retry-After', 'RateLimit-Policy', 'RateLimit']);
    // The headers' examples are what the module sends with that answer.
    const sent: Record<string, string> = {};
    setAnswerHeaders((name, value) => (sent[name] = value), { ...limited, challenge: null });
    expect(
      Object.fromEntries(
        Object.entries(response.headers!).map(([name, header]) => [
          name,
          String((header as { example: unknown }).example),
        ]),
      ),
    ).toEqual(sent);
    const withPassword = tooManyRequestsResponse(
      { challengeSchemes: ['Basic', 'Bearer'], password: true, passwordGrant: true },
      'api',
    );
    expect(Object.keys(withPassword.content!['application/json']!.examples!)).toEqual([
      'rate_limited',
      'uses_exhausted',
      'too_many_attempts',
    ]);
  });
});
