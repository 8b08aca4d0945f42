import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { And, Equal, In, IsNull, LessThan, LessThanOrEqual, MoreThan, Not, Or, type EntityManager, type FindOptionsWhere } from 'typeorm';
import { AccessToken } from './storage/access-token.entity.js';
import { REVOKED_BY_SECRET, REVOKED_BY_USER, ROTATED } from './access-tokens.constants.js';
import {
  InvalidExpiryError,
  InvalidPaginationError,
  InvalidScopeError,
  StoreUnavailableError,
  InvalidTokenNameError,
  TokenNotFoundError,
  TokenNotLiveError,
  TooManyTokensError,
} from './core/access-tokens.errors.js';
import type {
  AccessTokenView,
  IssueTokenContext,
  IssueTokenInput,
  IssuedAccessToken,
  ListTokensOptions,
  RotateTokenOptions,
  TokenPage,
  UserId,
  VerifiedAccessToken,
} from './access-tokens.interfaces.js';
import { disjoint, intersectScopes, uncovered, validateScopes } from './core/scopes.js';
import { checkSignature, checkToken, hashToken, isTokenId, signedBodyStart, tokenLength } from './core/token-format.js';
import { isPrintableText } from './core/text.js';
import type { CacheBusState } from './cache/cache-bus.js';
import { isDatabaseUnavailable } from './storage/outage.js';
import { deadBecause, frozen, stored, TokenStore, toView, type CachedToken } from './storage/token-store.js';
import type { FoundRow } from './storage/token-queries.js';

const MAX_NAME_LENGTH = 100;
/** How many tokens' last write the in-process throttle remembers. */
const MAX_TOUCHED_REMEMBERED = 10_000;
/** Cached verifications read again by one query, when refreshed. */
const REFRESH_BATCH = 500;
/**
 * A refresh waits this many times as long as a batch took before the next one: at most a quarter
 * of one core, so that refreshing a large cache never queues requests behind it.
 */
const REFRESH_PAUSE_FACTOR = 3;
/** Rows deleted per statement when pruning, so that no statement locks much at once. */
const PRUNE_BATCH = 500;
const MAX_GRACE_SECONDS = 7 * 24 * 3600;
const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 100;

/** Where a page ended: the last token's creation time and id, in the list's order. */
interface PageCursor {
  createdAt: number;
  id: string;
}

function encodeCursor(token: AccessToken): string {
  return Buffer.from(`${token.createdAt.getTime()}:${token.id}`).toString('base64url');
}

function decodeCursor(cursor: unknown): PageCursor {
  const [createdAt, id] = typeof cursor === 'string' && cursor.length <= 80 ? Buffer.from(cursor, 'base64url').toString('latin1').split(':') : [];
  if (!createdAt || !/^[0-9]{1,15}$/.test(createdAt) || !isTokenId(id)) {
    throw new InvalidPaginationError('cursor must be the nextCursor of a previous page');
  }
  return { createdAt: Number(createdAt), id };
}

/**
 * Issues, verifies, lists, renames, rotates, revokes and prunes access tokens.
 *
 * @example
 * const { token, accessToken } = await tokens.issue(user.id, { name: 'CI', scopes: ['users:read'] });
 * // show `token` to the user now: it is never available again
 */
@Injectable()
export class TokensService implements OnModuleDestroy {
  private readonly logger = new Logger(TokensService.name);
  private readonly prefixes: readonly string[];
  /** The lengths of the tokens of `prefixes`: only a string of one of them is hashed before its form is checked. */
  private readonly lengths: ReadonlySet<number>;
  /** When this process last wrote `lastUsedAt` for a token, so concurrent requests write once. */
  private readonly touched = new Map<string, number>();
  /** When the next refresh of cached verifications is due (epoch ms), while the bus is up. */
  private nextRefresh = 0;
  /** The refresh under way, if any. */
  private refreshing: Promise<void> | null = null;
  /** Set when the module is being destroyed: a refresh under way stops at its next batch. */
  private stopping = false;
  /** Database verifications under way, by token hash, when the cache is on. */
  private readonly inFlight = new Map<string, Promise<VerifiedAccessToken>>();

  constructor(private readonly store: TokenStore) {
    // Refresh tokens are not among these: they renew a session and never authenticate a request.
    this.prefixes = [store.options.tokenPrefix, store.options.sessionAccessPrefix];
    this.lengths = new Set(this.prefixes.map(tokenLength));
  }

  /**
   * Issues a personal token to a user. A scope that reaches none of the user's `permissions`
   * (neither covered by one nor covering one), or one beyond `context.within`, is refused with
   * `InvalidScopeError`; `*` is always allowed. At each request a token grants only the overlap of
   * its scopes with what the user may do then, so `acc:*` for a user who may `acc:read` grants
   * `acc:read`.
   *
   * @param user the user's id, or better, after a password check, the user entity as the app
   *   loaded and checked it: if its password (or another watched field) changes while the token is
   *   being issued, the token then never works (`InvalidCredentialsError` when the change is seen
   *   before it is stored).
   */
  async issue(user: UserId | object, input: IssueTokenInput, context: IssueTokenContext = {}): Promise<IssuedAccessToken> {
    const name = this.validName(input.name);
    const scopes = validateScopes(input.scopes ?? context.within ?? ['*']);
    if (scopes.length === 0) throw new InvalidScopeError('A token needs at least one scope');
    const lifetime = this.lifetime(input.expiresIn);
    const current = await this.store.issuableUser(user);
    const permissions = await this.store.users.permissionsOf(current);
    // `*` is always allowed; any other scope must reach at least one of the user's permissions.
    const beyondUser = permissions ? disjoint(permissions, scopes.filter((scope) => scope !== '*')) : [];
    if (beyondUser.length > 0) {
      throw new InvalidScopeError(`The user may not grant ${beyondUser.join(', ')}; they may grant ${permissions!.join(', ') || 'nothing'}`);
    }
    this.assertWithin(context, scopes);
    const owner = this.store.users.idOf(current);
    const { raw, token } = await this.store.transaction(async (manager) => {
      await this.assertRoomFor(manager, owner);
      return this.store.insert(manager, {
        userId: owner,
        kind: 'personal',
        name,
        scopes,
        lifetime,
        idleTimeout: this.store.options.idleExpiresIn,
        familyId: null,
        fingerprint: this.store.users.fingerprinter.of(current),
      });
    });
    return { token: raw, accessToken: toView(token) };
  }

  /**
   * What a health check reports: whether this instance hears the other instances' invalidations
   * (`'none'` without a bus). While it is `'down'`, the instance drops what it had cached and
   * verifies from the database until the bus is back.
   */
  health(): { cacheBus: CacheBusState } {
    return { cacheBus: this.store.bus.state };
  }

  /**
   * Checks a raw token and returns its user and effective scopes. Throws `AccessTokenError`
   * (`malformed`, `unknown`, `expired`, `revoked`, `user_blocked`). A token this app did not sign
   * (forged, or signed with a secret no longer given) is `malformed`, and one past its signed
   * expiry `expired`, at no query; any other costs one indexed query, unless cached.
   */
  async verify<User extends object = object>(raw: string): Promise<VerifiedAccessToken<User>> {
    return this.resolve<User>(raw);
  }

  /**
   * What `verify` does, without a promise when it can: the guard's entry point. A cache hit is
   * returned as is, and a token refused on its own face is thrown at once; the rest is a promise.
   *
   * The order: the hash of a string of a token's length, and a cache hit returns, as the cache
   * holds only tokens that passed every check below, keyed by the hash of the very string (the
   * checksum and MAC on each hit would cost 2 to 4 µs, measured); then form, checksum and
   * key id; the MAC and the signed expiry, before the database.
   */
  resolve<User extends object = object>(raw: string): VerifiedAccessToken<User> | Promise<VerifiedAccessToken<User>> {
    // Thrown, not a rejected promise: garbage is refused at once, for less than a valid token costs.
    if (typeof raw !== 'string' || !this.lengths.has(raw.length)) throw this.store.refuse('malformed');
    const hash = hashToken(raw);
    const { cache } = this.store;
    const now = this.store.now();
    if (cache) {
      if (this.store.busUp && now.getTime() >= this.nextRefresh) this.startRefresh(now.getTime());
      const hit = cache.get(hash, now.getTime());
      if (hit) {
        this.touch(hit.value, now);
        return hit.value.verified as VerifiedAccessToken<User>;
      }
    }
    // A signed token refused a moment ago for what does not change (unknown to the database,
    // past its signed expiry): a flood of it costs one MAC, or one query, per interval.
    const refused = this.store.refused?.get(hash, now.getTime());
    if (refused) throw this.store.refuse(refused);
    const { keys } = this.store.options;
    const start = signedBodyStart(raw, this.prefixes, keys);
    if (start < 0) throw this.store.refuse('malformed');
    const check = checkSignature(raw, start, keys, now.getTime());
    if (check === 'expired') this.store.refused?.add(hash, now.getTime(), check);
    if (check !== 'signed') throw this.store.refuse(check);
    if (!cache) return this.verifyFromDatabase<User>(hash, now);
    // Concurrent misses for one token share one read, so that an expiring entry of a busy token
    // costs one query, not one per request in flight.
    let shared = this.inFlight.get(hash);
    if (!shared) {
      shared = this.verifyFromDatabase(hash, now).finally(() => this.inFlight.delete(hash));
      this.inFlight.set(hash, shared);
    }
    return shared as Promise<VerifiedAccessToken<User>>;
  }

  private async verifyFromDatabase<User extends object>(hash: string, now: Date): Promise<VerifiedAccessToken<User>> {
    const { cache } = this.store;
    // Taken before the read: if an invalidation lands while it runs, what it read is not cached.
    const generation = cache?.generation ?? 0;
    let token: AccessToken | null;
    try {
      token = await this.store.findByHash(hash);
    } catch (error) {
      // A database away is a 503 to retry, not a fault; cached tokens keep working meanwhile.
      throw isDatabaseUnavailable(error) ? new StoreUnavailableError({ cause: error }) : error;
    }
    if (!token) {
      this.store.refused?.add(hash, now.getTime(), 'unknown');
      throw this.store.refuse('unknown');
    }
    const user = await this.store.usableUser(token, now);
    const cached = await this.cachedOf(token, user, 0);
    this.touch(cached, now);
    cache?.set(hash, token.userId, cached, now.getTime(), generation, cached.deadline);
    return cached.verified as VerifiedAccessToken<User>;
  }

  /** What the cache keeps of `token`'s verification, `user` its usable user. */
  private async cachedOf(token: AccessToken, user: object, recordAfter: number): Promise<CachedToken> {
    const permissions = await this.store.users.permissionsOf(user);
    const scopes = permissions ? intersectScopes(token.scopes, permissions) : token.scopes;
    return { idleTimeout: token.idleTimeout, deadline: deadlineOf(token), version: null, recordAfter, verified: frozen({ user, accessToken: toView(token), scopes }) };
  }

  /**
   * Starts a refresh of the cached verifications past half their trust, unless one is under way;
   * the next is due a quarter of the trust later. Only while the bus is up: a verification is then
   * trusted for `busTtl`, and without a refresh each busy token would cost a query per `busTtl` on
   * each instance as its entry ages out. Started by a request, so that an idle instance reads
   * nothing.
   */
  private startRefresh(now: number): void {
    const { cache } = this.store;
    if (!cache) return;
    this.nextRefresh = now + cache.ttl / 4;
    this.refreshing ??= this.refresh(cache.checkedBefore(now - cache.ttl / 2, now)).finally(() => (this.refreshing = null));
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
    const cache = this.store.cache!;
    for (let pause = 0; !this.stopping; ) {
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause).unref());
      const started = performance.now();
      const hashes: string[] = [];
      for (let next = due.next(); !next.done; next = hashes.length < REFRESH_BATCH ? due.next() : { done: true, value: undefined }) hashes.push(next.value);
      if (hashes.length === 0) return;
      const generation = cache.generation;
      const now = this.store.now();
      let rows: FoundRow[];
      try {
        rows = await this.store.findByHashes(hashes);
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
    const { accessToken, user, scopes } = previous.verified;
    if (row.version === previous.version) {
      if (previous.deadline <= now.getTime()) return null;
      // The app's permissions may come from elsewhere than the user's row: they are asked again.
      const permissions = await this.store.users.permissionsOf(user).catch(() => undefined);
      if (permissions !== undefined) {
        const current = permissions ? intersectScopes(accessToken.scopes, permissions) : accessToken.scopes;
        if (sameScopes(current, scopes)) return previous;
      }
    }
    const token = row.token();
    const value = await this.stillUsable(token, now);
    if (!value) return null;
    // A use recorded since the read, or not yet written, is newer than the row's.
    const lastUsedAt = [accessToken.lastUsedAt, value.verified.accessToken.lastUsedAt].reduce((a, b) => (a && (!b || a > b) ? a : b));
    return { ...value, version: row.version, recordAfter: previous.recordAfter, verified: frozen({ ...value.verified, accessToken: { ...value.verified.accessToken, lastUsedAt } }) };
  }

  /** `token`'s cached verification as read now, or `null` if it could no longer be used; changes nothing. */
  private async stillUsable(token: AccessToken, now: Date): Promise<CachedToken | null> {
    const { user } = token;
    const { users } = this.store;
    if (deadBecause(token, now) || !user || users.isBlocked(user) || users.fingerprinter.isStale(token.fingerprint, user)) return null;
    try {
      return await this.cachedOf(token, user, 0);
    } catch {
      return null; // the app's permissions() failed: the next request reads the token and says so
    }
  }

  /**
   * The user's personal tokens (revoked and expired ones included, until pruned) and live login
   * sessions, newest first. For a user with many, `page()`.
   */
  async list(userId: UserId): Promise<AccessTokenView[]> {
    return (await this.find(userId, 'all', null, null)).map(toView);
  }

  /**
   * A page of what `list()` gives, newest first, from where `options.cursor` says the previous one
   * ended. A cursor stays valid as tokens come and go: it names a place in the order, not an index.
   * Throws `InvalidPaginationError` for a limit, cursor or status that cannot be.
   */
  async page(userId: UserId, options: ListTokensOptions = {}): Promise<TokenPage> {
    const limit = options.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw new InvalidPaginationError(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
    }
    const status = options.status ?? 'all';
    if (status !== 'all' && status !== 'live') throw new InvalidPaginationError('status must be "live" or "all"');
    const after = options.cursor === undefined || options.cursor === null ? null : decodeCursor(options.cursor);
    const found = await this.find(userId, status, after, limit + 1);
    const tokens = found.slice(0, limit);
    const last = tokens.at(-1);
    return { tokens: tokens.map(toView), nextCursor: found.length > limit && last ? encodeCursor(last) : null };
  }

  /** Newest first (`createdAt`, then `id`), after `after` if given. */
  private async find(userId: UserId, status: 'live' | 'all', after: PageCursor | null, take: number | null): Promise<AccessToken[]> {
    // Uses recorded by this process show in the list at once, though written off the request path.
    await this.store.uses.flush();
    const owner = String(userId);
    const now = stored(this.store.now());
    const live = { revokedAt: Or(IsNull(), MoreThan(now)), expiresAt: Or(IsNull(), MoreThan(now)), idleExpiresAt: Or(IsNull(), MoreThan(now)) };
    const kinds: FindOptionsWhere<AccessToken>[] = [
      status === 'live' ? { userId: owner, kind: 'personal', ...live } : { userId: owner, kind: 'personal' },
      { userId: owner, kind: 'session', revokedAt: Or(IsNull(), MoreThan(now)), expiresAt: MoreThan(now) },
    ];
    const where = after
      ? kinds.flatMap((kind): FindOptionsWhere<AccessToken>[] => {
          const createdAt = stored(new Date(after.createdAt));
          return [
            { ...kind, createdAt: LessThan(createdAt) },
            { ...kind, createdAt: Equal(createdAt), id: MoreThan(after.id) },
          ];
        })
      : kinds;
    return this.store.repository.find({ where, order: { createdAt: 'DESC', id: 'ASC' }, ...(take === null ? {} : { take }) });
  }

  /** Renames one of the user's personal tokens. */
  async rename(userId: UserId, tokenId: string, name: string): Promise<AccessTokenView> {
    const newName = this.validName(name);
    const token = await this.findPersonal(userId, tokenId);
    await this.store.repository.update({ id: token.id }, { name: newName });
    this.store.invalidate(this.store.manager, [], [token.tokenHash]);
    return toView({ ...token, name: newName });
  }

  /**
   * Replaces a live personal token with a new one of the same name, scopes and lifetime policy.
   * The old one keeps working for `graceSeconds` (default 0), then counts as revoked (`rotated`).
   * A token is rotated once: rotating it again, or a token revoked or expired, is
   * `TokenNotLiveError` (409), also when two rotations race. `context.within` keeps a token from
   * rotating one with wider scopes than its own.
   */
  async rotate(
    userId: UserId,
    tokenId: string,
    options: RotateTokenOptions = {},
    context: IssueTokenContext = {},
  ): Promise<IssuedAccessToken> {
    const grace = options.graceSeconds ?? 0;
    if (!Number.isSafeInteger(grace) || grace < 0 || grace > MAX_GRACE_SECONDS) {
      throw new InvalidExpiryError(`graceSeconds must be a whole number from 0 to ${MAX_GRACE_SECONDS}`);
    }
    const found = await this.findPersonal(userId, tokenId);
    this.assertWithin(context, found.scopes);
    const user = await this.store.issuableUser(userId);
    return this.store.transaction(async (manager) => {
      // One at a time per user with other rotations and revocations, the token read anew under the
      // lock: of two racing rotations one wins, and a token revoked meanwhile is not replaced.
      await this.store.users.lock(manager, found.userId);
      const tokens = manager.getRepository(AccessToken);
      const old = await tokens.findOneByOrFail({ id: found.id });
      const now = this.store.now();
      // A token in its grace period was rotated already: its successor is the one to rotate.
      if (old.revokedAt !== null || deadBecause(old, now)) throw new TokenNotLiveError(old.id);
      const familyId = old.familyId ?? old.id;
      if (old.familyId === null) await tokens.update({ id: old.id }, { familyId });
      const { raw, token } = await this.store.insert(manager, {
        userId: old.userId,
        kind: 'personal',
        name: old.name,
        scopes: old.scopes,
        lifetime: old.lifetime,
        idleTimeout: old.idleTimeout,
        familyId,
        fingerprint: this.store.users.fingerprinter.of(user),
      });
      await this.store.revokeWhere(manager, { id: old.id }, ROTATED, new Date(now.getTime() + grace * 1000));
      return { token: raw, accessToken: toView(token) };
    });
  }

  /**
   * Revokes one of the user's tokens, and every token rotated from it or into it, so that a
   * revoked token never has a live successor; revoking a revoked token changes nothing. Throws
   * `TokenNotFoundError` if no token with that id belongs to the user.
   */
  async revoke(userId: UserId, tokenId: string, reason: string = REVOKED_BY_USER): Promise<AccessTokenView> {
    if (!isTokenId(tokenId)) throw new TokenNotFoundError(String(tokenId));
    const where = { id: tokenId, userId: String(userId), kind: Not('refresh' as const) };
    if ((await this.store.revokeLineage(where, reason)) === null) throw new TokenNotFoundError(tokenId);
    return toView(await this.store.repository.findOneByOrFail(where));
  }

  /**
   * Revokes every live token of the user, sessions included; returns how many. Pass the `manager`
   * of a transaction to revoke in it: nothing is revoked (nor announced) if it rolls back.
   */
  async revokeAll(userId: UserId, reason: string = REVOKED_BY_USER, manager: EntityManager = this.store.manager): Promise<number> {
    return (await this.store.revokeWhere(manager, { userId: String(userId) }, reason)).length;
  }

  /**
   * Revokes the token whose raw value is given, whoever owns it, with its rotation lineage: what
   * someone who found a leaked token calls. Returns whether a live token was revoked.
   */
  async revokeBySecret(raw: string): Promise<boolean> {
    const { tokenPrefix, sessionAccessPrefix, refreshPrefix, keys } = this.store.options;
    // A token this app did not sign is no leak of its own: answered alike, at no query. An expired
    // one is still revoked, to record that it leaked.
    if (typeof raw !== 'string' || checkToken(raw, [tokenPrefix, sessionAccessPrefix, refreshPrefix], keys, 0) !== 'signed') return false;
    const revoked = await this.store.revokeLineage({ tokenHash: hashToken(raw) }, REVOKED_BY_SECRET);
    return (revoked?.length ?? 0) > 0;
  }

  /**
   * Deletes the tokens that expired, idled out or were revoked longer than `retention` ago, in
   * small batches; returns how many. Safe to run on several instances at once: each deletes by
   * primary key, and a row another instance deleted first is simply not counted.
   */
  async prune(): Promise<number> {
    const cutoff = new Date(this.store.now().getTime() - this.store.options.retention * 1000);
    const repository = this.store.repository;
    let count = 0;
    for (;;) {
      const batch = await repository.find({ select: { id: true }, where: this.store.pastRetention(cutoff), order: { id: 'ASC' }, take: PRUNE_BATCH });
      if (batch.length === 0) break;
      const result = await repository.delete({ id: In(batch.map((token) => token.id)) });
      count += result.affected ?? 0;
      if (batch.length < PRUNE_BATCH) break;
    }
    if (count > 0) this.store.emit('pruned', { count });
    return count;
  }

  /**
   * Fires `expiring` for each live personal token that expires within `expiringNotice` and has not
   * had it yet; returns how many. Each token is claimed by a conditional update first, so that of
   * several instances exactly one fires it.
   */
  async notifyExpiring(): Promise<number> {
    const notice = this.store.options.expiringNotice;
    if (notice === false) return 0;
    const now = this.store.now();
    const repository = this.store.repository;
    const due = await repository.find({
      where: {
        kind: 'personal',
        expiringNotifiedAt: IsNull(),
        revokedAt: IsNull(),
        expiresAt: And(MoreThan(stored(now)), LessThanOrEqual(stored(new Date(now.getTime() + notice * 1000)))),
      },
      take: PRUNE_BATCH,
    });
    let count = 0;
    for (const token of due) {
      const claim = await repository.update({ id: token.id, expiringNotifiedAt: IsNull() }, { expiringNotifiedAt: now });
      if ((claim.affected ?? 0) === 0) continue;
      count += 1;
      this.store.emit('expiring', { userId: token.userId, tokenId: token.id, name: token.name, expiresAt: token.expiresAt! });
    }
    return count;
  }

  /**
   * Writes the uses of tokens recorded so far and still waiting (they are written in batches, at
   * most a second after the first of them), and resolves once they are written. `list()` and
   * `page()` do it first by themselves; a test or a benchmark may want it before reading the table.
   */
  async flushUses(): Promise<void> {
    await this.store.uses.flush();
  }

  /** Writes the uses still waiting, and waits for a refresh under way, before TypeORM closes its connections. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await Promise.all([this.store.uses.flush(), this.refreshing]);
  }

  private validName(name: unknown): string {
    const trimmed = typeof name === 'string' ? name.trim() : '';
    // Control characters (NUL above all, which PostgreSQL refuses) and lone surrogates are no name.
    if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH || !isPrintableText(trimmed)) throw new InvalidTokenNameError();
    return trimmed;
  }

  private assertWithin(context: IssueTokenContext, scopes: readonly string[]): void {
    const beyond = context.within ? uncovered(context.within, scopes) : [];
    if (beyond.length > 0) {
      throw new InvalidScopeError(`A token can only create tokens within its own scopes (${context.within!.join(', ')}), not ${beyond.join(', ')}`);
    }
  }

  /**
   * Refuses a token beyond `maxTokensPerUser`. The user's row stays locked until `manager`'s
   * transaction ends, so that concurrent issues for one user count one after the other.
   */
  private async assertRoomFor(manager: EntityManager, userId: string): Promise<void> {
    const limit = this.store.options.maxTokensPerUser;
    if (limit === null) return;
    await this.store.users.lock(manager, userId);
    const now = stored(this.store.now());
    const live = await manager.getRepository(AccessToken).countBy({
      userId,
      kind: 'personal',
      revokedAt: Or(IsNull(), MoreThan(now)),
      expiresAt: Or(IsNull(), MoreThan(now)),
    });
    if (live >= limit) throw new TooManyTokensError(limit);
  }

  private async findPersonal(userId: UserId, tokenId: string): Promise<AccessToken> {
    if (!isTokenId(tokenId)) throw new TokenNotFoundError(String(tokenId));
    const token = await this.store.repository.findOneBy({ id: tokenId, userId: String(userId), kind: 'personal' });
    if (!token) throw new TokenNotFoundError(String(tokenId));
    return token;
  }

  private lifetime(expiresIn: number | null | undefined): number | null {
    const { defaultExpiresIn, maxExpiresIn } = this.store.options;
    if (expiresIn === undefined) return defaultExpiresIn;
    if (expiresIn === null) {
      if (maxExpiresIn === null) return null;
      throw new InvalidExpiryError(`Tokens must expire: give expiresIn in seconds, at most ${maxExpiresIn}`);
    }
    if (!Number.isSafeInteger(expiresIn) || expiresIn <= 0) {
      throw new InvalidExpiryError('expiresIn must be a positive whole number of seconds');
    }
    if (maxExpiresIn !== null && expiresIn > maxExpiresIn) {
      throw new InvalidExpiryError(`expiresIn may be at most ${maxExpiresIn} seconds`);
    }
    return expiresIn;
  }

  /**
   * Records the use, at most once per `lastUsedInterval` per token, in a batch written off the
   * request path; pushes an idle timeout on with it.
   */
  private touch(token: CachedToken, now: Date): void {
    const at = now.getTime();
    if (at < token.recordAfter) return;
    const { verified } = token;
    const { id } = verified.accessToken;
    const interval = this.store.options.lastUsedInterval * 1000;
    const last = Math.max(verified.accessToken.lastUsedAt?.getTime() ?? -Infinity, this.touched.get(id) ?? -Infinity);
    if (at - last < interval) {
      token.recordAfter = last + interval;
      return;
    }
    const idleExpiresAt = token.idleTimeout === null ? null : new Date(at + token.idleTimeout * 1000);
    // Too many waiting: this use goes unrecorded, and the token's next one records it.
    if (!this.store.uses.record({ id, at: now, idleExpiresAt })) return;
    token.recordAfter = at + interval;
    if (this.touched.size >= MAX_TOUCHED_REMEMBERED) this.touched.clear();
    this.touched.set(id, at);
    token.verified = frozen({ ...verified, accessToken: { ...verified.accessToken, lastUsedAt: now } });
  }
}

/** Whether two lists of scopes are the same, in the same order. */
function sameScopes(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((scope, i) => scope === b[i]);
}

/** When a token's cached verification must go at the latest: past it, the database says exactly why. */
function deadlineOf(token: AccessToken): number {
  return Math.min(...[token.expiresAt, token.idleExpiresAt, token.revokedAt].map((time) => time?.getTime() ?? Infinity));
}
