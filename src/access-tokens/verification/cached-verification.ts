import { frozen, type CachedToken } from '../cache/token-cache.js';
import { frozenMetadata } from '../core/metadata.js';
import { ownerKey } from '../core/owner-key.js';
import { intersectScopes } from '../core/scopes.js';
import type { AccessToken } from '../storage/access-token.entity.js';
import { policyOf } from '../storage/policy-columns.js';
import { toView } from '../storage/token-view.js';
import type { TeamDirectory } from '../storage/team-directory.service.js';
import type { UserDirectory } from '../storage/user-directory.service.js';
import { activePolicyOf } from '../usage/usage-policy.js';

/** The owners' directories, for their permissions. */
export interface Owners {
  users: UserDirectory;
  teams: TeamDirectory;
}

/**
 * What the cache keeps of `token`'s verification, `user` its usable owner (a team, for a team's
 * token): its effective scopes (the token's within the owner's permissions now) and the deadline
 * past which the database must say why it no longer works; its view's `unusedScopes` as of
 * `unusedSince` (`unusedSinceOf`). Shared by a verification and a refresh of the cache.
 */
export async function cachedOf(
  owners: Owners,
  token: AccessToken,
  user: object,
  recordAfter: number,
  unusedSince: number,
): Promise<CachedToken> {
  const kind = token.kind === 'team' ? 'team' : 'user';
  const permissions = await (kind === 'team' ? owners.teams : owners.users).permissionsOf(user);
  const scopes = permissions ? intersectScopes(token.scopes, permissions) : token.scopes;
  const view = toView(token, unusedSince);
  // Shared by every request the cache answers: no handler can change what the next one sees.
  frozenMetadata(view.metadata);
  return {
    userId: token.userId,
    ownerKey: ownerKey(token.kind, token.userId),
    idleTimeout: token.idleTimeout,
    deadline: deadlineOf(token),
    version: null,
    policy: activePolicyOf(token.familyId ?? token.id, policyOf(token)),
    recordAfter,
    verified: frozen({ user, owner: Object.freeze({ kind, entity: user }), accessToken: view, scopes }),
  };
}

/** When a token's cached verification must go at the latest: past it, the database says exactly why. */
function deadlineOf(token: AccessToken): number {
  return Math.min(
    ...[token.expiresAt, token.idleExpiresAt, token.revokedAt].map((time) => time?.getTime() ?? Infinity),
  );
}
