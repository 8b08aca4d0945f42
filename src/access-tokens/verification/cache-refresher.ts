import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { RESOLVED_OPTIONS, VERIFICATION_CACHE } from '../access-tokens.internal-constants.js';
import { CacheBus } from '../cache/cache-bus.js';
import { frozen, type CachedToken } from '../cache/token-cache.js';
import { VerificationCache } from '../cache/verification-cache.js';
import { intersectScopes, unusedScopes } from '../core/scopes.js';
import type { AccessToken } from '../storage/access-token.entity.js';
import { TokenQueries, type FoundRow } from '../storage/token-queries.js';
import { TeamDirectory } from '../storage/team-directory.service.js';
import { unusedSinceOf } from '../storage/token-view.js';
import { UserDirectory } from '../storage/user-directory.service.js';
import { cachedOf } from './cached-verification.js';
import { deadBecause } from './token-checks.js';

/** Cached verifications read again by one query, when refreshed. */
const REFRESH_BATCH = 500;
/**
 * A refresh waits this many times as long as a batch took before the next one: at most a quarter
 * of one core, so that refreshing a large cache never queues requests behind it.
 */
const REFRESH_PAUSE_FACTOR = 3;

/**
 * Background work of the verification cache: while the bus is up, reads cached verifications
 * again before their trust runs out, many per query, off the request path (which only starts it).
 */
@Injectable()
export class CacheRefresher implements OnModuleDestroy {
  private readonly logger = new Logger(CacheRefresher.name);
  /** When the next refresh of cached verifications is due (epoch ms), while the bus is up. */
  private nextRefresh = 0;
  /** The refresh under way, if any. */
  private refreshing: Promise<void> | null = null;
  /** Set when the module is being destroyed: a refresh under way stops at its next batch. */
  private stopping = false;

  constructor(
    @Inject(VERIFICATION_CACHE) private readonly cache: VerificationCache<CachedToken> | null,
    private readonly queries: TokenQueries,
    private readonly users: UserDirectory,
    private readonly teams: TeamDirectory,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
    private readonly bus: CacheBus,
  ) {}

  /**
   * What each cache hit asks: starts a refresh when one is due, which is only while the bus is up
   * (cached verifications are then trusted long enough to need one). Two comparisons otherwise.
   */
  startIfDue(now: number): void {
    if (now >= this.nextRefresh && this.bus.state === 'up') this.start(now);
  }

  /**
   * Starts a refresh of the cached verifications past half their trust, unless one is under way;
   * the next is due a quarter of the trust later. Only while the bus is up: a verification is then
   * trusted for `cache.busTtlSeconds`, and without a refresh each busy token would cost a query per
   * `cache.busTtlSeconds` on
   * each instance as its entry ages out. Started by a request, so that an idle instance reads
   * nothing.
   */
  private start(now: number): void {
    const { cache } = this;
    if (!cache) return;
    this.nextRefresh = now + cache.ttl / 4;
    this.refreshing ??= this.refresh(cache.checkedBefore(now - cache.ttl / 2, now)).finally(
      () => (this.refreshing = null),
    );
  }

  /**
   * Reads the tokens of `due` (cache keys) again, many per query. An entry whose rows did not
   * change, and whose user's permissions did not either, keeps its value and is trusted anew:
   * nothing is allocated for it, so that refreshing a large cache does not churn the heap. Else
   * the entry gets what a verification would give now; and a token that could no longer be used
   * (revoked, expired, its user blocked, gone or changed by a write no subscriber saw) loses its
   * entry: the next request reads it, refuses it and says why, as on any miss. Nothing is cached
   * from a read an invalidation overtook.
   */
  private async refresh(due: Iterator<string>): Promise<void> {
    const cache = this.cache!;
    for (let pause = 0; !this.stopping;) {
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause).unref());
      const started = performance.now();
      const hashes: string[] = [];
      for (
        let next = due.next();
        !next.done;
        next = hashes.length < REFRESH_BATCH ? due.next() : { done: true, value: undefined }
      )
        hashes.push(next.value);
      if (hashes.length === 0) return;
      const generation = cache.generation;
      const now = this.options.clock.now();
      let rows: FoundRow[];
      try {
        rows = await this.queries.findByHashes(hashes);
      } catch (error) {
        // The entries keep their trust until it runs out; a later pass tries again.
        this.logger.warn(`Could not refresh cached verifications: ${String(error)}`);
        return;
      }
      const found = new Map(rows.map((row) => [row.hash, row]));
      for (const hash of hashes) {
        const previous = cache.peek(hash);
        const row = found.get(hash);
        const fresh = previous && row ? await this.reread(previous, row, now) : null;
        if (generation !== cache.generation) break; // an invalidation overtook the read: a later pass reads again
        if (!fresh) {
          cache.drop(hash);
          continue;
        }
        cache.refresh(hash, fresh, now.getTime(), generation, fresh.deadline);
      }
      pause = (performance.now() - started) * REFRESH_PAUSE_FACTOR;
    }
  }

  /**
   * What the entry `previous` should hold now that `row` was read: itself if nothing it depends on
   * changed, a new verification if its token is still usable, `null` if not; and its deadline.
   */
  private async reread(previous: CachedToken, row: FoundRow, now: Date): Promise<CachedToken | null> {
    const { accessToken, user, scopes, owner } = previous.verified;
    if (row.version === previous.version) {
      if (previous.deadline <= now.getTime()) return null;
      // The app's permissions may come from elsewhere than the owner's row: they are asked again.
      const directory = owner.kind === 'team' ? this.teams : this.users;
      const permissions = await directory.permissionsOf(user).catch(() => undefined);
      if (permissions !== undefined) {
        const current = permissions ? intersectScopes(accessToken.scopes, permissions) : accessToken.scopes;
        if (sameScopes(current, scopes)) return previous;
      }
    }
    const token = row.token();
    const value = await this.stillUsable(token, now);
    if (!value) return null;
    // A use recorded since the read, or not yet written, is newer than the row's: its time, address
    // and user agent go together, whichever use is the later.
    const read = value.verified.accessToken;
    const mine = accessToken.lastUsedAt && (!read.lastUsedAt || accessToken.lastUsedAt > read.lastUsedAt);
    const { lastUsedAt, lastUsedIp, lastUsedUserAgent } = mine ? accessToken : read;
    // Scopes exercised: the later of the two times of each, and the unused ones as of both.
    const scopesUsedAt = { ...read.scopesUsedAt };
    for (const [scope, at] of Object.entries(accessToken.scopesUsedAt)) {
      if (read.scopes.includes(scope) && !(scopesUsedAt[scope]! >= at)) scopesUsedAt[scope] = at;
    }
    const used = Object.fromEntries(Object.entries(scopesUsedAt).map(([scope, at]) => [scope, at.getTime()]));
    return {
      ...value,
      version: row.version,
      recordAfter: previous.recordAfter,
      verified: frozen({
        ...value.verified,
        accessToken: {
          ...read,
          lastUsedAt,
          lastUsedIp,
          lastUsedUserAgent,
          scopesUsedAt,
          unusedScopes: unusedScopes(read.scopes, used, unusedSinceOf(this.options, now)),
        },
      }),
    };
  }

  /** `token`'s cached verification as read now, or `null` if it could no longer be used; changes nothing. */
  private async stillUsable(token: AccessToken, now: Date): Promise<CachedToken | null> {
    const { user } = token;
    const { users, teams } = this;
    const owner = token.kind === 'team' ? (teams.enabled ? teams : null) : users;
    if (
      deadBecause(token, now) ||
      token.pausedAt !== null ||
      !user ||
      !owner ||
      owner.isBlocked(user) ||
      owner.isStale(token.fingerprint, user)
    )
      return null;
    try {
      return await cachedOf({ users, teams }, token, user, 0, unusedSinceOf(this.options, now));
    } catch {
      return null; // the app's permissions() failed: the next request reads the token and says so
    }
  }

  /** Waits for a refresh under way, which stops at its next batch, before TypeORM closes its connections. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.refreshing;
  }
}

/** Whether two lists of scopes are the same, in the same order. */
function sameScopes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((scope, i) => scope === b[i]);
}
