import type { AccessTokenView } from '../access-tokens.interfaces.js';
import type { AccessToken } from './access-token.entity.js';

/** What the module shows of a stored token. */
export function toView(token: AccessToken): AccessTokenView {
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
    rateLimit: token.rateLimit === null ? null : { limit: token.rateLimit, window: token.rateWindow ?? 1 },
    maxUses: token.maxUses,
    usesLeft: token.usesLeft,
    usesPeriod: token.usesPeriod,
    usesRenewAt: token.usesRenewAt,
    allowedIps: token.allowedIps && [...token.allowedIps],
  };
}
