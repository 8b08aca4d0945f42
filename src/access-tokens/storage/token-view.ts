import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import type { AccessTokenView } from '../access-tokens.interfaces.js';
import { unusedScopes } from '../core/scopes.js';
import type { AccessToken, TokenMetadata } from './access-token.entity.js';
import { policyOf } from './policy-columns.js';

/**
 * What the module shows of a stored token; `unusedSince` (epoch ms) is where the window of its
 * `unusedScopes` starts (`unusedSinceOf`).
 */
export function toView(token: AccessToken, unusedSince: number): AccessTokenView {
  const policy = policyOf(token);
  const scopesUsed = token.scopesUsed ?? {};
  return {
    id: token.id,
    kind: token.kind === 'personal' || token.kind === 'team' ? token.kind : 'session',
    createdBy: token.createdBy,
    // Personal tokens keep a family too, of rotations: not a session.
    sessionId: token.kind === 'personal' || token.kind === 'team' ? null : token.familyId,
    name: token.name,
    scopes: [...token.scopes],
    hint: token.hint,
    createdAt: token.createdAt,
    expiresAt: token.expiresAt,
    lastUsedAt: token.lastUsedAt,
    revokedAt: token.revokedAt,
    revokedReason: token.revokedReason,
    enabled: token.pausedAt === null,
    rateLimit: policy.rateLimit,
    maxUses: policy.maxUses,
    usesLeft: token.usesLeft,
    usesPeriod: policy.usesPeriod,
    usesRenewAt: token.usesRenewAt,
    allowedIps: policy.allowedIps && [...policy.allowedIps],
    metadata: token.metadata as TokenMetadata | null,
    lastUsedIp: token.lastUsedIp,
    lastUsedUserAgent: token.lastUsedUserAgent,
    scopesUsedAt: Object.fromEntries(Object.entries(scopesUsed).map(([scope, at]) => [scope, new Date(at)])),
    unusedScopes: unusedScopes(token.scopes, scopesUsed, unusedSince),
    // MariaDB's insert reads the column's default back as 1, not true.
    canary: Boolean(token.canary),
  };
}

/** Where the window of the views' `unusedScopes` starts at `now`: `tokens.unusedScopeSeconds` before it. */
export function unusedSinceOf(options: ResolvedAccessTokensOptions, now: Date = options.clock.now()): number {
  return now.getTime() - options.tokens.unusedScopeSeconds * 1000;
}
