import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { In, IsNull, MoreThan, Or, Repository, type EntityManager, type FindOptionsWhere } from 'typeorm';
import { AccessToken, stored, type AccessTokenKind, type TokenMetadata } from './access-token.entity.js';
import { isSqlite } from './drivers.js';
import { ownerKey, ownerKindOf } from '../core/owner-key.js';
import { withConflictRetries } from './outage.js';
import { AccessTokenEvents, type AccessTokenEventMap, type AccessTokenEventName } from '../access-token.events.js';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { StoreUnavailableError } from '../core/access-tokens.errors.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { CacheInvalidation } from '../cache/cache-invalidation.js';
import { generateToken, hashToken, tokenHint } from '../core/token-format.js';
import { TransactionHooks } from '../revocation/transaction-hooks.js';
import { TeamDirectory } from './team-directory.service.js';
import { UserDirectory } from './user-directory.service.js';
import { NO_POLICY, type StoredPolicy } from '../usage/usage-policy.js';
import { policyColumns } from './policy-columns.js';

/** A user's revoked tokens are dropped from caches one by one up to this many; past it, with the user's other tokens. */
const TOKENS_INVALIDATED_ONE_BY_ONE = 20;

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
  /** Its usage policy (personal tokens; sessions have none): default none. */
  policy?: StoredPolicy;
  /** What a rotation carries over from the token it replaces: its pause, its uses left and their next restore. */
  carried?: Pick<AccessToken, 'pausedAt' | 'usesLeft' | 'usesRenewAt'>;
  /** Who made a team's token: the member's user id. Default `null`. */
  createdBy?: string | null;
  /** The app's metadata. Default `null`. */
  metadata?: TokenMetadata | null;
  /** A canary token, which never authenticates. Default `false`. */
  canary?: boolean;
}

/** What `TokenStore.updatePolicy` writes. */
export interface PolicyChange {
  /** A new name, or `undefined` to keep it. */
  name: string | undefined;
  /** The whole policy after the change. */
  policy: StoredPolicy;
  /** Whether `maxUses` or `usesPeriod` was given. */
  quotaChanged: boolean;
  /** When it was paused, `null` to resume it, `undefined` to keep it as it is. */
  pausedAt: Date | null | undefined;
  /** New metadata (checked), `null` to remove it, `undefined` to keep it. */
  metadata?: TokenMetadata | null;
  /** Its scopes narrowed (checked against the row as locked), or `undefined` to keep them. */
  scopes?: string[];
  now: Date;
}

/**
 * Writes of token rows shared by personal tokens and login sessions: inserting a token, renaming
 * one and the one path every revocation takes, each announced (and dropped from the verification
 * caches) once its transaction commits; and the transactions they run in.
 */
@Injectable()
export class TokenStore {
  /** The end of the chain of this store's transactions on SQLite; `null` elsewhere. */
  private serialTransactions: Promise<unknown> | null;

  constructor(
    @InjectRepository(AccessToken) private readonly repository: Repository<AccessToken>,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
    private readonly users: UserDirectory,
    private readonly teams: TeamDirectory,
    private readonly events: AccessTokenEvents,
    private readonly transactions: TransactionHooks,
    private readonly invalidation: CacheInvalidation,
  ) {
    this.serialTransactions = isSqlite(repository.manager.connection) ? Promise.resolve() : null;
  }

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

  /** The manager outside any transaction. */
  get manager(): EntityManager {
    return this.repository.manager;
  }

  /** Stores a new token and returns it with its raw value, which exists nowhere else. */
  async insert(manager: EntityManager, input: NewToken): Promise<{ raw: string; token: AccessToken }> {
    const { tokens } = this.options;
    const prefix = {
      personal: tokens.prefix,
      team: tokens.prefix,
      session: tokens.sessionPrefix,
      refresh: tokens.refreshPrefix,
    }[input.kind];
    const now = this.options.clock.now().getTime();
    // A whole second, as the token signs it: the signed expiry and the stored one agree exactly.
    const expiresAt = input.lifetime === null ? null : Math.floor(now / 1000) * 1000 + input.lifetime * 1000;
    const raw = generateToken(prefix, this.options.keys.current, expiresAt);
    const { policy = NO_POLICY, carried, createdBy = null, metadata = null, canary = false, ...row } = input;
    const token = this.repository.create({
      ...row,
      createdBy,
      metadata,
      canary,
      lastUsedIp: null,
      lastUsedUserAgent: null,
      scopesUsed: null,
      ...policyColumns(policy),
      pausedAt: null,
      // All its uses left, and their first restore a period from now.
      usesLeft: policy.maxUses,
      usesRenewAt: policy.usesPeriod === null ? null : new Date(now + policy.usesPeriod * 1000),
      ...carried,
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
      const owner = ownerKindOf(input.kind);
      this.transactions.afterCommit(manager, () =>
        this.events.emit('issued', { userId, tokenId, name, scopes: [...scopes], expiresAt, ...owner }),
      );
    }
    return { raw, token };
  }

  /**
   * Writes a token's name, pause and metadata (each if given) and usage policy, in `manager`'s
   * transaction, and drops its cached verifications once that commits. A changed quota keeps the uses made: the uses left are the new `maxUses` less
   * those made under the old one (never below 0), computed by the database from the row as it is,
   * so that a use taken meanwhile is counted; and a new period starts `now`.
   */
  async updatePolicy(
    manager: EntityManager,
    token: Pick<AccessToken, 'id' | 'tokenHash'>,
    change: PolicyChange,
  ): Promise<void> {
    const { name, policy, quotaChanged, pausedAt, metadata: data, scopes, now } = change;
    const repository = manager.getRepository(AccessToken);
    if (quotaChanged && policy.maxUses !== null) {
      // Its own statement, before `max_uses` changes: it reads the old one.
      const { metadata, manager: m } = repository;
      const column = (property: string) =>
        m.connection.driver.escape(metadata.findColumnWithPropertyName(property)!.databaseName);
      const [max, left] = [column('maxUses'), column('usesLeft')];
      const used = `(${max} - ${left})`;
      await repository
        .createQueryBuilder()
        .update(AccessToken)
        .set({
          usesLeft: () =>
            `CASE WHEN ${max} IS NULL OR ${left} IS NULL THEN :uses WHEN :uses - ${used} < 0 THEN 0 ELSE :uses - ${used} END`,
        })
        .where('id = :id', { id: token.id, uses: policy.maxUses })
        .callListeners(false)
        .updateEntity(false)
        .execute();
    }
    const { maxUses, usesPeriod } = policy;
    await repository.update(
      { id: token.id },
      {
        ...(name === undefined ? {} : { name }),
        ...(pausedAt === undefined ? {} : { pausedAt }),
        ...(data === undefined ? {} : { metadata: data }),
        ...(scopes === undefined ? {} : { scopes }),
        ...policyColumns(policy),
        ...(quotaChanged
          ? {
              ...(maxUses === null ? { usesLeft: null } : {}),
              usesRenewAt: usesPeriod === null ? null : new Date(now.getTime() + usesPeriod * 1000),
            }
          : {}),
      },
    );
    // Its cached verifications carry its policy, pause and name: every instance reads it anew.
    this.invalidation.invalidate(manager, [], [token.tokenHash]);
  }

  /**
   * The token's row read anew in `manager`'s transaction and locked until it ends, so that
   * concurrent changes to it (a rotation, an update, the request path's take of a use) go one at
   * a time, each judged against what the other left (SQLite runs one writer at a time anyway).
   */
  locked(manager: EntityManager, id: string): Promise<AccessToken> {
    return manager.getRepository(AccessToken).findOneOrFail({
      where: { id },
      ...(isSqlite(manager.connection) ? {} : { lock: { mode: 'pessimistic_write' as const } }),
    });
  }

  /**
   * Announces `event` once `manager`'s transaction commits (now, outside one); never if it rolls
   * back: for the changes the store's callers make in their own transactions (a rotation, a pause).
   */
  announce<E extends AccessTokenEventName>(manager: EntityManager, event: E, payload: AccessTokenEventMap[E]): void {
    this.transactions.afterCommit(manager, () => this.events.emit(event, payload));
  }

  /**
   * Revokes the live tokens `where` selects (a token in a rotation's grace period counts as live),
   * and announces it once `manager`'s transaction commits. Returns their ids.
   */
  async revokeWhere(
    manager: EntityManager,
    where: FindOptionsWhere<AccessToken>,
    reason: string,
    revokedAt: Date = this.options.clock.now(),
  ): Promise<string[]> {
    const repository = manager.getRepository(AccessToken);
    const live = Or(IsNull(), MoreThan(stored(this.options.clock.now())));
    const tokens = await repository.find({
      select: { id: true, userId: true, kind: true, tokenHash: true },
      where: { ...where, revokedAt: live },
    });
    if (tokens.length === 0) return [];
    const ids = tokens.map((token) => token.id);
    await repository.update({ id: In(ids), revokedAt: live }, { revokedAt, revokedReason: reason });
    // By owner: a user's, or a team's (whose id may equal a user's), under its key in the cache.
    const byOwner = new Map<string, AccessToken[]>();
    for (const token of tokens) {
      const key = ownerKey(token.kind, token.userId);
      const revoked = byOwner.get(key);
      if (revoked) revoked.push(token);
      else byOwner.set(key, [token]);
    }
    // A few tokens of an owner are dropped by hash, and the owner's others stay cached; past that,
    // the whole owner, in one key rather than many hashes on the bus.
    const ownerKeys: string[] = [];
    const tokenHashes: string[] = [];
    for (const [key, revoked] of byOwner) {
      if (revoked.length > TOKENS_INVALIDATED_ONE_BY_ONE) ownerKeys.push(key);
      else for (const { tokenHash } of revoked) tokenHashes.push(tokenHash);
    }
    this.invalidation.invalidate(manager, ownerKeys, tokenHashes);
    this.transactions.afterCommit(manager, () => {
      for (const revoked of byOwner.values()) {
        const [{ userId, kind }] = revoked as [AccessToken];
        this.events.emit('revoked', {
          userId,
          tokenIds: revoked.map((token) => token.id),
          reason,
          ...ownerKindOf(kind),
        });
      }
    });
    return ids;
  }

  /**
   * Revokes the token `where` selects together with its rotation lineage (every token of its owner
   * rotated from it or into it), so that a revoked token never has a live successor. Runs one at a
   * time with `rotate()` for the token's owner (its user, or its team), reading the lineage under
   * that lock. Returns the ids revoked (none if the token is no longer live), or `null` if no token
   * matches `where`.
   */
  async revokeLineage(where: FindOptionsWhere<AccessToken>, reason: string): Promise<string[] | null> {
    const target = await this.repository.findOne({ select: { id: true, userId: true, kind: true }, where });
    if (!target) return null;
    return this.transaction(async (manager) => {
      // A team's token is rotated under its team's lock, whose id may be a user's.
      if (target.kind === 'team') await this.teams.lock(manager, target.userId);
      else await this.users.lock(manager, target.userId);
      const token = await manager.getRepository(AccessToken).findOneByOrFail({ id: target.id });
      // A session's familyId is its session, ended otherwise: its lineage is the token alone.
      const lineage: FindOptionsWhere<AccessToken> =
        (token.kind === 'personal' || token.kind === 'team') && token.familyId !== null
          ? { userId: token.userId, familyId: token.familyId, kind: token.kind }
          : { id: token.id };
      return this.revokeWhere(manager, lineage, reason);
    });
  }
}
