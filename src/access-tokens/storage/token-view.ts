import type { AccessTokenView } from '../access-tokens.interfaces.js';
import type { AccessToken } from './access-token.entity.js';
import { policyOf } from './policy-columns.js';

/** What the module shows of a stored token. */
export function toView(token: AccessToken): AccessTokenView {
  const policy = policyOf(token);
  return {
    id: token.id,
    kind: token.kind === 'personal' ? 'personal' : 'session',
    // Personal tokens keep a family too, of rotations: not a session.
    sessionId: token.kind === 'personal' ? null : token.familyId,
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
  };
}
