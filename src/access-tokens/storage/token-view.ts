import type { AccessTokenView } from '../access-tokens.interfaces.js';
import type { AccessToken, TokenMetadata } from './access-token.entity.js';
import { policyOf } from './policy-columns.js';

/** What the module shows of a stored token. */
export function toView(token: AccessToken): AccessTokenView {
  const policy = policyOf(token);
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
    scopesUsedAt: Object.fromEntries(
      Object.entries(token.scopesUsed ?? {}).map(([scope, at]) => [scope, new Date(at)]),
    ),
    // MariaDB's insert reads the column's default back as 1, not true.
    canary: Boolean(token.canary),
  };
}
