import type { StoredPolicy } from '../usage/usage-policy.js';
import type { AccessToken } from './access-token.entity.js';

/**
 * A token's usage policy and the columns that store it, both ways, in one place: the view, the
 * request path, an update and a rotation read it with `policyOf`; an insert and an update write it
 * with `policyColumns`.
 */

/** The columns of the policy itself (not the uses left, which each use changes). */
type PolicyColumns = Pick<AccessToken, 'rateLimit' | 'rateWindow' | 'maxUses' | 'usesPeriod' | 'allowedIps'>;

/** The usage policy `token` stores. */
export function policyOf(token: PolicyColumns): StoredPolicy {
  return {
    rateLimit: token.rateLimit === null ? null : { limit: token.rateLimit, window: token.rateWindow ?? 1 },
    maxUses: token.maxUses,
    usesPeriod: token.usesPeriod,
    allowedIps: token.allowedIps,
  };
}

/** The columns that store `policy`. */
export function policyColumns({ rateLimit, maxUses, usesPeriod, allowedIps }: StoredPolicy): PolicyColumns {
  return {
    rateLimit: rateLimit?.limit ?? null,
    rateWindow: rateLimit?.window ?? null,
    maxUses,
    usesPeriod,
    allowedIps,
  };
}
