import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import {
  And,
  In,
  IsNull,
  LessThanOrEqual,
  Like,
  MoreThan,
  Not,
  Or,
  Repository,
  type EntityManager,
  type FindOptionsWhere,
} from 'typeorm';
import { AccessToken, type AccessTokenKind } from './access-token.entity.js';
import { isSqlite } from './drivers.js';
import { isDatabaseUnavailable, withConflictRetries } from './outage.js';
import { AccessTokenEvents } from '../access-token.events.js';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { BLOCKED, CREDENTIALS_CHANGED, USER_DELETED } from '../access-tokens.constants.js';
import {
  AccessTokenError,
  InvalidCredentialsError,
  StoreUnavailableError,
  UserBlockedError,
  UserNotFoundError,
  type AccessTokenErrorCode,
} from '../core/access-tokens.errors.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import type { AccessTokenView, UserId, VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { CacheBus } from '../cache/cache-bus.js';
import { generateToken, hashToken, tokenHint } from '../core/token-format.js';
import { TokenQueries, type FoundRow } from './token-queries.js';
import { TransactionHooks } from '../revocation/transaction-hooks.js';
import { UserDirectory } from './user-directory.service.js';
import { RefusedTokens } from '../cache/refused-tokens.js';
import { UseRecorder } from './use-recorder.js';
import { VerificationCache } from '../cache/verification-cache.js';

/**
 * Signed tokens the database did not know, or past their signed expiry, are remembered this long
 * (or the cache's `ttl`, if shorter), this many at most. A token unknown once stays unknown: the
 * module commits a token before anyone sees it, so only a restored backup brings one back, and
 * then within this time. An expired one stays expired.
 */
const REFUSED_TTL_MS = 60_000;
const MAX_REFUSED_REMEMBERED = 1_000;
/** A user's revoked tokens are dropped from caches one by one up to this many; past it, with the user's other tokens. */
const TOKENS_INVALIDATED_ONE_BY_ONE = 20;

/** What the verification cache keeps of a verified token. */
export interface CachedToken {
  idleTimeout: number | null;
  /** When it must go at the latest (epoch ms): its expiry, idle expiry or revocation. */
  deadline: number;
  /** The version of the rows this was read from, once a refresh read them (`FoundRow.version`). */
  version: string | null;
  /** No use needs recording before this time (epoch ms): what a cache hit checks first. */
  recordAfter: number;
  /**
   * What a cache hit returns, frozen (its view and scopes too) so that every request can share it
   * without a copy. Replaced, not changed, when a use is recorded.
   */
  verified: VerifiedAccessToken;
}

/** `verified`, frozen with its view and scopes, as the cache shares it between requests. */
export function frozen(verified: VerifiedAccessToken): VerifiedAccessToken {
  return Object.freeze({
    user: verified.user,
    accessToken: Object.freeze(verified.accessToken),
    scopes: Object.freeze(verified.scopes),
  });
}

/**
 * A time as the column stores it, for FindOperators: TypeORM does not run column transformers on
 * their values, so they must be epoch milliseconds already.
 */
export function stored(time: Date): Date {
  return time.getTime() as unknown as Date;
}

/** What a new token row holds, besides what the store derives. */
export interface NewToken {
  userId: string;
  kind: AccessTokenKind;
  name: string;
  scopes: string[];
  /** Seconds; `null` for no expiry. */
  lifetime: number | null;
  idleTimeout: number | null;
  familyId: string | null;
  fingerprint: string | null;
}

/**
 * Storage and checks shared by personal tokens and login sessions: inserting, finding by raw
 * value, deciding whether a token may be used now, and the one path every revocation takes.
 */
@Injectable()
export class TokenStore {
  /** Verified tokens by hash; `null` with `cache: false`. */
  readonly cache: VerificationCache<CachedToken> | null;
  /** Hashes of signed tokens refused a moment ago as unknown or expired; `null` with `cache: false`. */
  readonly refused: RefusedTokens | null;
  /** The queries of the request path, their SQL written once. */
  private readonly queries: TokenQueries;
  /** Uses of tokens to record, written in batches off the request path. */
  readonly uses: UseRecorder;
  /** Whether the bus is connected: cached verifications are then refreshed before they age out. */
  busUp = false;

  constructor(
    @InjectRepository(AccessToken) readonly repository: Repository<AccessToken>,
    readonly users: UserDirectory,
    @Inject(RESOLVED_OPTIONS) readonly options: ResolvedAccessTokensOptions,
    private readonly events: AccessTokenEvents,
    private readonly transactions: TransactionHooks,
    readonly bus: CacheBus,
  ) {
    this.cache = options.cache && new VerificationCache(options.cache.max, options.cache.ttl * 1000);
    this.refused =
      options.cache && new RefusedTokens(MAX_REFUSED_REMEMBERED, Math.min(REFUSED_TTL_MS, options.cache.ttl * 1000));
    this.queries = new TokenQueries(repository.manager.connection, users.entity, users.joinCondition('token', 'user'));
    this.uses = new UseRecorder((uses) => this.queries.recordUses(uses));
    bus.onInvalidation(({ userIds, tokenHashes }) => this.cache?.invalidate(userIds, tokenHashes));
    // While the bus is up, every revocation and user change is pushed: a verification can be
    // trusted for longer. When it drops, the short TTL is back, for what is cached too (a bus that
    // flushes on its loss drops it all, below).
    bus.onStateChange((state) => {
      this.busUp = state === 'up';
      if (!this.cache || !options.cache) return;
      this.cache.ttl = (this.busUp ? options.cache.busTtl : options.cache.ttl) * 1000;
      if (!this.busUp) this.cache.capTrust(this.now().getTime() + this.cache.ttl);
    });
    // Invalidations may have been missed while the bus was down: nothing cached can be trusted.
    bus.onReset(() => this.cache?.clear());
    this.serialTransactions = isSqlite(repository.manager.connection) ? Promise.resolve() : null;
  }

  /** The end of the chain of this store's transactions on SQLite; `null` elsewhere. */
  private serialTransactions: Promise<unknown> | null;

  /**
   * Runs `work` in a transaction, again when it loses a deadlock (a few times, then
   * `StoreUnavailableError`, a 503), and `StoreUnavailableError` when the database is away. On
   * SQLite, this store's transactions run one after the other:
   * TypeORM cannot run two at once on SQLite's one connection (measured: concurrent issues failed
   * with SQLITE_ERROR), and one at a time is all SQLite writes anyway.
   */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const attempt = () =>
      withConflictRetries(
        () => this.manager.transaction(work),
        (cause) => new StoreUnavailableError({ cause }),
      );
    if (this.serialTransactions === null) return attempt();
    const run = this.serialTransactions.then(attempt);
    this.serialTransactions = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `work`, which reads or writes outside `transaction()`: the database away is then
   * `StoreUnavailableError` (a 503 to retry) too, not the driver's error.
   */
  async unlessUnavailable<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw isDatabaseUnavailable(error) ? new StoreUnavailableError({ cause: error }) : error;
    }
  }

  /**
   * Drops the users' cached verifications, and those of the tokens with these hashes, here and,
   * through the bus, on the other instances; once `manager`'s transaction commits, so that no read
   * can see the old rows afterwards.
   */
  invalidate(manager: EntityManager, userIds: readonly string[], tokenHashes: readonly string[] = []): void {
    if (!this.cache) return;
    this.transactions.afterCommit(manager, () => {
      this.cache!.invalidate(userIds, tokenHashes);
      this.bus.publish({ userIds, tokenHashes });
    });
  }

  get manager(): EntityManager {
    return this.repository.manager;
  }

  now(): Date {
    return this.options.clock.now();
  }

  /** Stores a new token and returns it with its raw value, which exists nowhere else. */
  async insert(manager: EntityManager, input: NewToken): Promise<{ raw: string; token: AccessToken }> {
    const { tokenPrefix, sessionAccessPrefix, refreshPrefix } = this.options;
    const prefix = { personal: tokenPrefix, session: sessionAccessPrefix, refresh: refreshPrefix }[input.kind];
    const now = this.now().getTime();
    // A whole second, as the token signs it: the signed expiry and the stored one agree exactly.
    const expiresAt = input.lifetime === null ? null : Math.floor(now / 1000) * 1000 + input.lifetime * 1000;
    const raw = generateToken(prefix, this.options.keys.current, expiresAt);
    const token = this.repository.create({
      ...input,
      id: randomUUID(),
      tokenHash: hashToken(raw),
      hint: tokenHint(raw),
      createdAt: new Date(now),
      expiresAt: expiresAt === null ? null : new Date(expiresAt),
      idleExpiresAt: input.idleTimeout === null ? null : new Date(now + input.idleTimeout * 1000),
      lastUsedAt: null,
      revokedAt: null,
      revokedReason: null,
      expiringNotifiedAt: null,
    });
    await manager.getRepository(AccessToken).insert(token);
    if (input.kind !== 'refresh') {
      const { id: tokenId, userId, name, scopes, expiresAt } = token;
      this.transactions.afterCommit(manager, () =>
        this.events.emit('issued', { userId, tokenId, name, scopes: [...scopes], expiresAt }),
      );
    }
    return { raw, token };
  }

  /** The token with that hash, its user joined in the same indexed query. */
  async findByHash(hash: string): Promise<AccessToken | null> {
    return this.queries.findByHash(hash);
  }

  /**
   * The tokens with these hashes that exist, each with its user joined: one query, to refresh
   * cached verifications.
   */
  async findByHashes(hashes: readonly string[]): Promise<FoundRow[]> {
    return this.queries.findByHashes(hashes);
  }

  /** The token with that raw value, its user joined. */
  async findByRaw(raw: string): Promise<AccessToken | null> {
    return this.findByHash(hashToken(raw));
  }

  /**
   * Returns the token's user if the token may be used at `now`; throws `AccessTokenError` saying
   * why not. The user checks catch changes no subscriber saw (raw SQL, `update()`, a deleted row):
   * they revoke for good, so that undoing the change does not bring the tokens back.
   */
  async usableUser(token: AccessToken, now: Date): Promise<object> {
    const dead = deadBecause(token, now);
    if (dead) throw this.refuse(dead.code, token, dead.detail);
    const { user } = token;
    if (!user) {
      await this.revokeWhere(this.manager, { userId: token.userId }, USER_DELETED);
      throw this.refuse('revoked', token, USER_DELETED);
    }
    if (this.users.isBlocked(user)) {
      await this.revokeWhere(this.manager, { userId: token.userId }, BLOCKED);
      throw this.refuse('user_blocked', token);
    }
    const { fingerprinter } = this.users;
    if (fingerprinter.isStale(token.fingerprint, user)) {
      const current = fingerprinter.of(user)!;
      await this.revokeWhere(
        this.manager,
        { userId: token.userId, fingerprint: And(Not(current), Like(`${current.split('.')[0]}.%`)) },
        CREDENTIALS_CHANGED,
      );
      throw this.refuse('revoked', token, CREDENTIALS_CHANGED);
    }
    return user;
  }

  /**
   * The user a new token may be issued to, as the database has it: `UserNotFoundError` or
   * `UserBlockedError` otherwise. Given the user object whose password the app checked, also
   * `InvalidCredentialsError` when its watched fields no longer match the row: a password changed
   * since that check. The token then keeps the fingerprint of the values the app checked, so that
   * a change committing after this read leaves it refused at its first use.
   */
  async issuableUser(subject: UserId | object): Promise<object> {
    const checked = typeof subject === 'object' ? subject : null;
    const id = checked ? this.users.idOf(checked) : (subject as UserId);
    const user = await this.users.findById(id);
    if (!user) throw new UserNotFoundError(id);
    if (this.users.isBlocked(user)) throw new UserBlockedError(id);
    if (checked && this.users.fingerprinter.of(checked) !== this.users.fingerprinter.of(user))
      throw new InvalidCredentialsError();
    return user;
  }

  /**
   * Revokes the live tokens `where` selects (a token in a rotation's grace period counts as live),
   * and announces it once `manager`'s transaction commits. Returns their ids.
   */
  async revokeWhere(
    manager: EntityManager,
    where: FindOptionsWhere<AccessToken>,
    reason: string,
    revokedAt: Date = this.now(),
  ): Promise<string[]> {
    const repository = manager.getRepository(AccessToken);
    const live = Or(IsNull(), MoreThan(stored(this.now())));
    const tokens = await repository.find({
      select: { id: true, userId: true, tokenHash: true },
      where: { ...where, revokedAt: live },
    });
    if (tokens.length === 0) return [];
    const ids = tokens.map((token) => token.id);
    await repository.update({ id: In(ids), revokedAt: live }, { revokedAt, revokedReason: reason });
    const byUser = new Map<string, AccessToken[]>();
    for (const token of tokens) {
      const revoked = byUser.get(token.userId);
      if (revoked) revoked.push(token);
      else byUser.set(token.userId, [token]);
    }
    // A few tokens of a user are dropped by hash, and the user's others stay cached; past that,
    // the whole user, in one id rather than many hashes on the bus.
    const userIds: string[] = [];
    const tokenHashes: string[] = [];
    for (const [userId, revoked] of byUser) {
      if (revoked.length > TOKENS_INVALIDATED_ONE_BY_ONE) userIds.push(userId);
      else for (const { tokenHash } of revoked) tokenHashes.push(tokenHash);
    }
    this.invalidate(manager, userIds, tokenHashes);
    this.transactions.afterCommit(manager, () => {
      for (const [userId, revoked] of byUser)
        this.events.emit('revoked', { userId, tokenIds: revoked.map((token) => token.id), reason });
    });
    return ids;
  }

  /**
   * Revokes the token `where` selects together with its rotation lineage (every personal token
   * rotated from it or into it), so that a revoked token never has a live successor. Runs one at a
   * time with `rotate()` for the token's user, reading the lineage under that lock. Returns the ids
   * revoked (none if the token is no longer live), or `null` if no token matches `where`.
   */
  async revokeLineage(where: FindOptionsWhere<AccessToken>, reason: string): Promise<string[] | null> {
    const target = await this.repository.findOne({ select: { id: true, userId: true }, where });
    if (!target) return null;
    return this.transaction(async (manager) => {
      await this.users.lock(manager, target.userId);
      const token = await manager.getRepository(AccessToken).findOneByOrFail({ id: target.id });
      const lineage: FindOptionsWhere<AccessToken> =
        token.kind === 'personal' && token.familyId !== null
          ? { userId: token.userId, familyId: token.familyId, kind: 'personal' }
          : { id: token.id };
      return this.revokeWhere(manager, lineage, reason);
    });
  }

  /** Where-clause of tokens past their retention: expired, idled out or revoked before `cutoff`. */
  pastRetention(cutoff: Date): FindOptionsWhere<AccessToken>[] {
    const before = LessThanOrEqual(stored(cutoff));
    return [{ expiresAt: before }, { idleExpiresAt: before }, { revokedAt: before }];
  }

  /** The error for a refused token, announced as `verification_failed`. */
  refuse(code: AccessTokenErrorCode, token?: AccessToken, detail: string | null = null): AccessTokenError {
    this.events.emit('verification_failed', {
      reason: code,
      tokenId: token?.id ?? null,
      userId: token?.userId ?? null,
    });
    return new AccessTokenError(code, detail);
  }

  emit: AccessTokenEvents['emit'] = (event, payload) => this.events.emit(event, payload);
}

/** Why the token itself can no longer be used at `now` (revoked, expired, idled out), or `null`. */
export function deadBecause(
  token: AccessToken,
  now: Date,
): { code: 'revoked' | 'expired'; detail: string | null } | null {
  const at = now.getTime();
  if (token.revokedAt && token.revokedAt.getTime() <= at) return { code: 'revoked', detail: token.revokedReason };
  if (token.expiresAt && token.expiresAt.getTime() <= at) return { code: 'expired', detail: null };
  if (token.idleExpiresAt && token.idleExpiresAt.getTime() <= at) return { code: 'expired', detail: 'idle' };
  return null;
}

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
  };
}
