import { describe, expect, it } from '@jest/globals';
import { InvalidTokenError, InsufficientScopeError, MissingCredentialsError } from '../core/access-tokens.errors.js';
import { toHttpAnswer } from '../edge/rfc6750.js';
import {
  accessSentence,
  describeRequirements,
  forbiddenResponse,
  grantingWildcards,
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
    expect(Object.keys(examples)).toEqual(['insufficient_scope', 'insufficient_scope_2']);
    expect(examples.insufficient_scope_2!.value).toEqual(
      toHttpAnswer(new InsufficientScopeError(['c', 'd'], 'anyOf'), 'api').body,
    );
    expect((response.headers!['WWW-Authenticate'] as { example: string }).example).toBe(
      toHttpAnswer(new InsufficientScopeError(['a', 'b'], 'allOf'), 'api').challenge,
    );
    expect(response.description).toBe(
      'The token lacks a required scope (`insufficient_scope`): it needs the scopes `a` and `b` and one of the scopes `c` or `d`.',
    );
  });
});
