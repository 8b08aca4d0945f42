import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import type { PresentingRequest, VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { exercisedScopes, type ScopeRequirement } from '../core/scopes.js';
import { UseRecorder } from '../storage/use-recorder.js';
import { userAgentOf } from './use-origin.js';
import { clientAddressOf } from '../usage/usage-policy.js';

/** How many tokens' exercised scopes this instance remembers. */
const MAX_TOKENS_REMEMBERED = 10_000;
/** Requirements remembered per token at most (an overridden `getRequirements` may make new ones each time). */
const MAX_REQUIREMENTS_REMEMBERED = 256;

/** What this instance knows of a token's exercised scopes. */
interface Exercised {
  /** The requirements (`@Scopes()` metadata, by identity) checked since the token's last recorded use. */
  readonly seen: Set<ScopeRequirement>;
  /** When this instance recorded each scope exercised (epoch ms by scope). */
  readonly used: Record<string, number>;
}

/**
 * The least-privilege hints: which of a token's own scopes granted requests (`ScopesGuard` reports
 * each request it lets through), recorded with the token's use at most once per
 * `tokens.lastUsedIntervalSeconds` per scope, on the batched write of `UseRecorder`.
 *
 * A request whose requirements were all checked since the token's last recorded use costs a Map
 * lookup and a Set lookup per requirement, and allocates nothing. Otherwise the scopes that
 * granted it are worked out, and those not recorded within the interval queue a use carrying the
 * token's whole map: what its cached view read, with what this instance recorded since, and these.
 * Two instances may each write their own map over the other's; each records its scopes again
 * within an interval while they stay in use, so a map is accurate to about one interval.
 */
@Injectable()
export class ScopeUses {
  private readonly tokens = new Map<string, Exercised>();
  private readonly intervalMs: number;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
    private readonly uses: UseRecorder,
  ) {
    this.intervalMs = options.tokens.lastUsedIntervalSeconds * 1000;
  }

  /** A use of token `id` was recorded: its requirements are checked again, once each, from now on. */
  recorded(id: string): void {
    this.tokens.get(id)?.seen.clear();
  }

  /** `requirements` let a request with `verified` through. */
  exercised(
    verified: VerifiedAccessToken,
    requirements: readonly ScopeRequirement[],
    request?: PresentingRequest,
  ): void {
    const known = this.tokens.get(verified.accessToken.id);
    if (known !== undefined) {
      // An indexed loop: no iterator per request.
      let i = 0;
      while (i < requirements.length && known.seen.has(requirements[i]!)) i++;
      if (i === requirements.length) return;
    }
    this.check(verified, requirements, request, known);
  }

  /** The slow path of `exercised`: a requirement not checked since the token's last recorded use. */
  private check(
    verified: VerifiedAccessToken,
    requirements: readonly ScopeRequirement[],
    request: PresentingRequest | undefined,
    known: Exercised | undefined,
  ): void {
    const { accessToken, scopes } = verified;
    let entry = known;
    if (!entry) {
      if (this.tokens.size >= MAX_TOKENS_REMEMBERED) this.tokens.clear();
      entry = { seen: new Set(), used: {} };
      this.tokens.set(accessToken.id, entry);
    }
    if (entry.seen.size >= MAX_REQUIREMENTS_REMEMBERED) entry.seen.clear();
    const now = this.options.clock.now();
    const at = now.getTime();
    const usedAt = (scope: string) =>
      Math.max(accessToken.scopesUsedAt[scope]?.getTime() ?? -Infinity, entry.used[scope] ?? -Infinity);
    let due = false;
    for (const requirement of requirements) {
      if (entry.seen.has(requirement)) continue;
      entry.seen.add(requirement);
      for (const scope of exercisedScopes(accessToken.scopes, scopes, requirement)) {
        if (at - usedAt(scope) < this.intervalMs) continue;
        entry.used[scope] = at;
        due = true;
      }
    }
    if (!due) return;
    // The token's whole map, of its current scopes only: one the token lost is forgotten.
    const scopesUsed: Record<string, number> = {};
    for (const scope of accessToken.scopes) {
      const time = usedAt(scope);
      if (time !== -Infinity) scopesUsed[scope] = time;
    }
    this.uses.record({
      id: accessToken.id,
      at: now,
      idleExpiresAt: null,
      ip: clientAddressOf(request),
      userAgent: userAgentOf(request),
      scopesUsed,
    });
  }
}
