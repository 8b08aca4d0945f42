import { frozen, type CachedToken } from '../cache/token-cache.js';
import { intersectScopes } from '../core/scopes.js';
import type { AccessToken } from '../storage/access-token.entity.js';
import { policyOf } from '../storage/policy-columns.js';
import { toView } from '../storage/token-view.js';
import type { UserDirectory } from '../storage/user-directory.service.js';
import { activePolicyOf } from '../usage/usage-policy.js';

/**
 * What the cache keeps of `token`'s verification, `user` its usable user: its effective scopes
 * (the token's within the user's permissions now) and the deadline past which the database must
 * say why it no longer works; its view's `unusedScopes` as of `unusedSince` (`unusedSinceOf`).
 * Shared by a verification and a refresh of the cache.
 */
export async function cachedOf(
  users: UserDirectory,
  token: AccessToken,
  user: object,
  recordAfter: number,
  unusedSince: number,
): Promise<CachedToken> {
  const permissions = await users.permissionsOf(user);
  const scopes = permissions ? intersectScopes(token.scopes, permissions) : token.scopes;
  return {
    userId: token.userId,
    idleTimeout: token.idleTimeout,
    deadline: deadlineOf(token),
    version: null,
    policy: activePolicyOf(token.familyId ?? token.id, policyOf(token)),
    recordAfter,
    verified: frozen({ user, accessToken: toView(token, unusedSince), scopes }),
  };
}

/** When a token's cached verification must go at the latest: past it, the database says exactly why. */
function deadlineOf(token: AccessToken): number {
  return Math.min(
    ...[token.expiresAt, token.idleExpiresAt, token.revokedAt].map((time) => time?.getTime() ?? Infinity),
  );
}
