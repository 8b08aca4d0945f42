import { describe, expect, it } from '@jest/globals';
import type { VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { attach, verifiedTokenOf } from './access-token.authenticator.js';

const verified = (id: number, kind: 'user' | 'team' = 'user') =>
  ({ user: { id }, owner: { kind, entity: { id } }, accessToken: {}, scopes: [] }) as unknown as VerifiedAccessToken;

describe('attaching a verified token to a request', () => {
  it('sets request.user as an own property, as Passport does, and keeps the token beside it', () => {
    const request: { headers: Record<string, string>; user?: unknown } = { headers: {} };
    const token = verified(3);
    attach(request, token);
    expect(Object.getOwnPropertyDescriptor(request, 'user')?.value).toEqual({ id: 3 });
    expect(verifiedTokenOf(request)).toBe(token);
  });

  it('lets the app set another user after, without losing the token', () => {
    const request: { headers: Record<string, string>; user?: unknown } = { headers: {} };
    const token = verified(1);
    attach(request, token);
    request.user = { id: 2 };
    expect(request.user).toEqual({ id: 2 });
    expect(verifiedTokenOf(request)).toBe(token);
  });

  it("leaves request.user unset for a team's token: a team is nobody's user", () => {
    const request: { headers: Record<string, string>; user?: unknown } = { headers: {} };
    const token = verified(4, 'team');
    attach(request, token);
    expect(request.user).toBeUndefined();
    expect(verifiedTokenOf(request)).toBe(token);
  });
});
