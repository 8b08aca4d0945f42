import { Inject, Injectable } from '@nestjs/common';
import type { ResponseHost } from '../edge/execution-context.js';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { AccessTokenEvents } from '../access-token.events.js';
import type { PresentingRequest, VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { REFUSED_TOKENS, RESOLVED_OPTIONS, VERIFICATION_CACHE } from '../access-tokens.internal-constants.js';
import { RefusedTokens, type RememberedCanary, type RememberedRefusal } from '../cache/refused-tokens.js';
import type { InvalidTokenError } from '../core/access-tokens.errors.js';
import { frozen, type CachedToken } from '../cache/token-cache.js';
import { VerificationCache } from '../cache/verification-cache.js';
import { ownerKindOf } from '../core/owner-key.js';
import { checkSignature, hashToken, signedBodyStart, tokenLength } from '../core/token-format.js';
import { unlessUnavailable } from '../storage/outage.js';
import { TokenQueries } from '../storage/token-queries.js';
import { unusedSinceOf } from '../storage/token-view.js';
import { UseRecorder } from '../storage/use-recorder.js';
import { TeamDirectory } from '../storage/team-directory.service.js';
import { UserDirectory } from '../storage/user-directory.service.js';
import { UsageGate } from '../usage/usage-gate.js';
import { AccessTokensTelemetry } from '../telemetry/access-tokens.telemetry.js';
import { CacheRefresher } from './cache-refresher.js';
import { cachedOf, type Owners } from './cached-verification.js';
import { ScopeUses } from './scope-uses.js';
import { TokenChecks } from './token-checks.js';
import { userAgentOf } from './use-origin.js';
import { clientAddressOf } from '../usage/usage-policy.js';

/** How many tokens' last write the in-process throttle remembers. */
const MAX_TOUCHED_REMEMBERED = 10_000;

/**
 * The request path: a raw token to its user and effective scopes, from the cache or with one
 * query, and its use recorded off the request path. Every guard, the strategy and
 * `TokensService.verify()` come here; nothing here issues, lists or changes tokens.
 */
@Injectable()
export class TokenVerifier {
  private readonly prefixes: readonly string[];
  /** The lengths of the tokens of `prefixes`: only a string of one of them is hashed before its form is checked. */
  private readonly lengths: ReadonlySet<number>;
  /** When this process last wrote `lastUsedAt` for a token, so concurrent requests write once. */
  private readonly touched = new Map<string, number>();
  /** Database verifications under way, by token hash, when the cache is on. */
  private readonly inFlight = new Map<string, Promise<CachedToken | RememberedCanary>>();
  /** `tokens.lastUsedIntervalSeconds`, in milliseconds. */
  private readonly lastUsedIntervalMs: number;
  /** The owners' directories, for their permissions. */
  private readonly owners: Owners;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
    /** Verified tokens by hash; `null` with `cache: false`. */
    @Inject(VERIFICATION_CACHE) private readonly cache: VerificationCache<CachedToken> | null,
    /** Hashes of signed tokens refused a moment ago as unknown or expired; `null` with `cache: false`. */
    @Inject(REFUSED_TOKENS) private readonly refused: RefusedTokens | null,
    private readonly refresher: CacheRefresher,
    private readonly queries: TokenQueries,
    private readonly checks: TokenChecks,
    users: UserDirectory,
    teams: TeamDirectory,
    /** Uses of tokens to record, written in batches off the request path. */
    private readonly uses: UseRecorder,
    /** The usage policies of the tokens that have one. */
    private readonly gate: UsageGate,
    private readonly events: AccessTokenEvents,
    /** Counts verifications, cache lookups and their latency; spans each database verification. */
    private readonly telemetry: AccessTokensTelemetry,
    /** The scopes each token exercised: a recorded use starts their interval anew. */
    private readonly scopeUses: ScopeUses,
  ) {
    // Refresh tokens are not among these: they renew a session and never authenticate a request.
    this.prefixes = [options.tokens.prefix, options.tokens.sessionPrefix];
    this.lengths = new Set(this.prefixes.map(tokenLength));
    this.lastUsedIntervalMs = options.tokens.lastUsedIntervalSeconds * 1000;
    this.owners = { users, teams };
  }

  /**
   * Checks a raw token (as `TokensService.verify` documents), without a promise when it can: the
   * guards' entry point. A cache hit is
   * returned as is, and a token refused on its own face is thrown at once; the rest is a promise.
   *
   * The order: the hash of a string of a token's length, and a cache hit returns, as the cache
   * holds only tokens that passed every check below, keyed by the hash of the very string (the
   * checksum and MAC on each hit would cost 2 to 4 µs, measured); then form, checksum and
   * key id; the MAC and the signed expiry, before the database. A token with a usage policy then
   * has it applied to `request` (its `ip`), its rate limit's headers set on the response of
   * `host`, if given. A use recorded keeps the address and user agent of `request`.
   */
  resolve<User extends object = object>(
    raw: string,
    request?: PresentingRequest,
    host?: ResponseHost,
    /** Where the token came from, for the metrics: `host.getType()` at the edge, `direct` from `TokensService`. */
    transport: string = 'direct',
  ): VerifiedAccessToken<User> | Promise<VerifiedAccessToken<User>> {
    const { telemetry } = this;
    if (!telemetry.enabled) return this.check<User>(raw, request, host);
    // Each verification counted once, by outcome, with its latency: a cache hit adds two clock
    // reads and calls into the meter with attributes built at start-up; only a miss, already a
    // promise, gets closures.
    const started = performance.now();
    let result: VerifiedAccessToken<User> | Promise<VerifiedAccessToken<User>>;
    try {
      result = this.check<User>(raw, request, host);
    } catch (error) {
      throw telemetry.refused(transport, error, started);
    }
    if (!(result instanceof Promise)) {
      telemetry.verified(transport, started);
      return result;
    }
    return result.then(
      (verified) => {
        telemetry.verified(transport, started);
        return verified;
      },
      (error: unknown) => {
        throw telemetry.refused(transport, error, started);
      },
    );
  }

  /** `resolve`, without the metrics. */
  private check<User extends object>(
    raw: string,
    request: PresentingRequest | undefined,
    host: ResponseHost | undefined,
  ): VerifiedAccessToken<User> | Promise<VerifiedAccessToken<User>> {
    // Thrown, not a rejected promise: garbage is refused at once, for less than a valid token costs.
    if (typeof raw !== 'string' || !this.lengths.has(raw.length))
      throw this.checks.refuse('malformed', undefined, null, request);
    const hash = hashToken(raw);
    const { cache } = this;
    const now = this.options.clock.now();
    if (cache) {
      this.refresher.startIfDue(now.getTime());
      const hit = cache.get(hash, now.getTime());
      if (hit) {
        this.telemetry.cacheHit();
        return this.admit<User>(hit.value, request, host, now);
      }
      this.telemetry.cacheMiss();
    }
    // A signed token refused a moment ago for what does not change (unknown to the database,
    // past its signed expiry, a canary): a flood of it costs one MAC, or one query, per interval.
    const refused = this.refused?.get(hash, now.getTime());
    if (refused) throw this.refusalOf(refused, request, now);
    const { keys } = this.options;
    const start = signedBodyStart(raw, this.prefixes, keys);
    if (start < 0) throw this.checks.refuse('malformed', undefined, null, request);
    const check = checkSignature(raw, start, keys, now.getTime());
    if (check === 'expired') this.refused?.add(hash, now.getTime(), check);
    if (check !== 'signed') throw this.checks.refuse(check, undefined, null, request);
    if (!cache)
      return this.verifyFromDatabase(hash, now, request).then((found) =>
        this.admitRead<User>(found, request, host, now),
      );
    // Concurrent misses for one token share one read, so that an expiring entry of a busy token
    // costs one query, not one per request in flight; each request then has the policy applied. A
    // refusal there is announced once, with the address of the request that started the read.
    let shared = this.inFlight.get(hash);
    if (!shared) {
      shared = this.verifyFromDatabase(hash, now, request).finally(() => this.inFlight.delete(hash));
      this.inFlight.set(hash, shared);
    }
    return shared.then((found) => this.admitRead<User>(found, request, host, now));
  }

  /** What the database read found, for this request: a canary is refused (and alerts) for each request that shared the read. */
  private admitRead<User extends object>(
    found: CachedToken | RememberedCanary,
    request: PresentingRequest | undefined,
    host: ResponseHost | undefined,
    now: Date,
  ): VerifiedAccessToken<User> | Promise<VerifiedAccessToken<User>> {
    if (!('verified' in found)) throw this.refusalOf(found, request, now);
    return this.admit<User>(found, request, host, now);
  }

  /**
   * The refusal of a token remembered as refused. A canary is answered as an unknown token, the
   * same error and the same `verification_failed`, so that neither the caller nor a metric of
   * refusals tells it apart; `canary_used` says what it was, at every use.
   */
  private refusalOf(refused: RememberedRefusal, request: PresentingRequest | undefined, now: Date): InvalidTokenError {
    if (typeof refused === 'string') return this.checks.refuse(refused, undefined, null, request);
    this.events.emit('canary_used', {
      ...refused,
      address: request?.ip ?? null,
      userAgent: userAgentOf(request),
      at: now,
    });
    return this.checks.refuse('unknown', undefined, null, request);
  }

  /** `cached`'s verification once its usage policy, if it has one, lets the request through. */
  private admit<User extends object>(
    cached: CachedToken,
    request: PresentingRequest | undefined,
    host: ResponseHost | undefined,
    now: Date,
  ): VerifiedAccessToken<User> | Promise<VerifiedAccessToken<User>> {
    // Most tokens have no policy: one comparison.
    if (cached.policy === null) {
      this.touch(cached, now, request);
      return cached.verified as VerifiedAccessToken<User>;
    }
    // A request its policy refuses is no use of the token: it neither records one nor keeps the token from idling out.
    const admitted = this.gate.admit(cached, cached.policy, request, host, now.getTime());
    if (!(admitted instanceof Promise)) {
      this.touch(cached, now, request);
      return admitted as VerifiedAccessToken<User>;
    }
    return admitted.then((verified) => {
      this.touch(cached, now, request);
      return verified as VerifiedAccessToken<User>;
    });
  }

  /** The database's verification of `hash`, in the span `access_tokens.verify`. */
  private verifyFromDatabase(
    hash: string,
    now: Date,
    request: PresentingRequest | undefined,
  ): Promise<CachedToken | RememberedCanary> {
    return this.telemetry.inVerifySpan(() => this.readFromDatabase(hash, now, request));
  }

  /**
   * The token's verification, read from the database and cached; or, for a canary, what its alert
   * names, remembered as a refusal (never cached as verified), whatever else the row says: revoked,
   * expired or its user gone, a canary alerts while its row exists. A refusal is announced with
   * the address of `request`.
   */
  private async readFromDatabase(
    hash: string,
    now: Date,
    request: PresentingRequest | undefined,
  ): Promise<CachedToken | RememberedCanary> {
    const { cache } = this;
    // Taken before the read: if an invalidation lands while it runs, what it read is not cached.
    const generation = cache?.generation ?? 0;
    // A database away is a 503 to retry, not a fault; cached tokens keep working meanwhile.
    const token = await unlessUnavailable(() => this.queries.findByHash(hash));
    if (!token) {
      this.refused?.add(hash, now.getTime(), 'unknown');
      throw this.checks.refuse('unknown', undefined, null, request);
    }
    if (token.canary) {
      const canary: RememberedCanary = {
        userId: token.userId,
        tokenId: token.id,
        name: token.name,
        ...ownerKindOf(token.kind),
      };
      this.refused?.add(hash, now.getTime(), canary);
      return canary;
    }
    const user = await this.checks.usableUser(token, now, request);
    const cached = await cachedOf(this.owners, token, user, 0, unusedSinceOf(this.options, now));
    cache?.set(hash, cached.ownerKey, cached, now.getTime(), generation, cached.deadline);
    return cached;
  }

  /**
   * Records the use, with the address and user agent of `request`, at most once per
   * `tokens.lastUsedIntervalSeconds` per token, in a batch written off the request path; pushes an
   * idle timeout on with it. The first use of a personal or team token this instance knows of
   * (`lastUsedAt` still `null`) is marked as such, for `first_used`. The request is read only when
   * a use is recorded: a cache hit within the interval returns at the first comparison.
   */
  private touch(token: CachedToken, now: Date, request: PresentingRequest | undefined): void {
    const at = now.getTime();
    if (at < token.recordAfter) return;
    const { verified } = token;
    const { id } = verified.accessToken;
    const interval = this.lastUsedIntervalMs;
    const last = Math.max(verified.accessToken.lastUsedAt?.getTime() ?? -Infinity, this.touched.get(id) ?? -Infinity);
    if (at - last < interval) {
      token.recordAfter = last + interval;
      return;
    }
    const idleExpiresAt = token.idleTimeout === null ? null : new Date(at + token.idleTimeout * 1000);
    const ip = clientAddressOf(request);
    const userAgent = userAgentOf(request);
    // A login session's access token is new at each refresh: its first use is no news.
    const { kind } = verified.accessToken;
    const firstOf = last === -Infinity && kind !== 'session' ? { userId: token.userId, ...ownerKindOf(kind) } : null;
    // Too many waiting: this use goes unrecorded, and the token's next one records it.
    if (!this.uses.record({ id, at: now, idleExpiresAt, ip, userAgent, firstOf })) return;
    token.recordAfter = at + interval;
    if (this.touched.size >= MAX_TOUCHED_REMEMBERED) this.touched.clear();
    this.touched.set(id, at);
    this.scopeUses.recorded(id);
    token.verified = frozen({
      ...verified,
      accessToken: { ...verified.accessToken, lastUsedAt: now, lastUsedIp: ip, lastUsedUserAgent: userAgent },
    });
  }
}
