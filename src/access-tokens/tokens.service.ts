import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import {
  Equal,
  In,
  IsNull,
  LessThan,
  MoreThan,
  Not,
  Or,
  Repository,
  type EntityManager,
  type FindOptionsWhere,
} from 'typeorm';
import type { ResolvedAccessTokensOptions } from './access-tokens-options.interface.js';
import { RESOLVED_OPTIONS } from './access-tokens.internal-constants.js';
import { AccessToken, stored } from './storage/access-token.entity.js';
import { REVOKED_BY_SECRET, REVOKED_BY_USER } from './access-tokens.constants.js';
import {
  InvalidPaginationError,
  InvalidScopeError,
  TokenNotFoundError,
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
  PresentingRequest,
  UpdateTokenInput,
  UserId,
  VerifiedAccessToken,
} from './access-tokens.interfaces.js';
import { disjoint, uncovered } from './core/scopes.js';
import { checkToken, hashToken, isTokenId } from './core/token-format.js';
import { CacheBus, type CacheBusState } from './cache/cache-bus.js';
import { unlessUnavailable } from './storage/outage.js';
import { TokenChanges } from './storage/token-changes.js';
import { TokenStore } from './storage/token-store.js';
import { toView, unusedSinceOf } from './storage/token-view.js';
import { UseRecorder } from './storage/use-recorder.js';
import { UserDirectory } from './storage/user-directory.service.js';
import { TokenMaintenance } from './token-maintenance.service.js';
import { TokenVerifier } from './verification/token-verifier.js';

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
  const [createdAt, id] =
    typeof cursor === 'string' && cursor.length <= 80
      ? Buffer.from(cursor, 'base64url').toString('latin1').split(':')
      : [];
  if (!createdAt || !/^[0-9]{1,15}$/.test(createdAt) || !isTokenId(id)) {
    throw new InvalidPaginationError('cursor must be the nextCursor of a previous page');
  }
  return { createdAt: Number(createdAt), id };
}

/**
 * Issues, lists, renames, rotates, revokes and prunes access tokens, and verifies one for an app
 * that asks (the guards verify through `TokenVerifier`, the request path). While the database is
 * out of reach, each call rejects with `errors.StoreUnavailableError`, which the module's filter
 * answers 503 with `Retry-After`.
 *
 * @example
 * const { token, accessToken } = await tokens.issue(user.id, { name: 'CI', scopes: ['users:read'] });
 * // show `token` to the user now: it is never available again
 */
@Injectable()
export class TokensService implements OnModuleDestroy {
  constructor(
    private readonly store: TokenStore,
    @InjectRepository(AccessToken) private readonly repository: Repository<AccessToken>,
    private readonly users: UserDirectory,
    private readonly uses: UseRecorder,
    private readonly bus: CacheBus,
    private readonly verifier: TokenVerifier,
    private readonly maintenance: TokenMaintenance,
    private readonly changes: TokenChanges,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {}

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
  async issue(
    user: UserId | object,
    input: IssueTokenInput,
    context: IssueTokenContext = {},
  ): Promise<IssuedAccessToken> {
    return unlessUnavailable(async () => {
      const checked = this.changes.checkIssue(input, context.within ?? ['*']);
      const { scopes } = checked;
      const current = await this.users.issuableUser(user);
      const permissions = await this.users.permissionsOf(current);
      // `*` is always allowed; any other scope must reach at least one of the user's permissions.
      const beyondUser = permissions
        ? disjoint(
            permissions,
            scopes.filter((scope) => scope !== '*'),
          )
        : [];
      if (beyondUser.length > 0) {
        throw new InvalidScopeError(
          `The user may not grant ${beyondUser.join(', ')}; they may grant ${permissions!.join(', ') || 'nothing'}`,
        );
      }
      this.assertWithin(context, scopes);
      const owner = this.users.idOf(current);
      const { raw, token } = await this.store.transaction(async (manager) => {
        await this.assertRoomFor(manager, owner);
        return this.store.insert(manager, {
          ...checked,
          userId: owner,
          kind: 'personal',
          familyId: null,
          fingerprint: this.users.fingerprintOf(current),
        });
      });
      return { token: raw, accessToken: toView(token, unusedSinceOf(this.options)) };
    });
  }

  /**
   * What a health check reports: whether this instance hears the other instances' invalidations
   * (`'none'` without a bus). While it is `'down'`, the instance drops what it had cached and
   * verifies from the database until the bus is back.
   */
  health(): { cacheBus: CacheBusState } {
    return { cacheBus: this.bus.state };
  }

  /**
   * Checks a raw token and returns its user and effective scopes. Throws `InvalidTokenError`
   * (`malformed`, `unknown`, `expired`, `revoked`, `user_blocked`, `paused`); a canary is `unknown`,
   * and raises `canary_used` with `request`'s address and user agent. A token this app did
   * not sign (forged, or signed with a secret no longer given) is `malformed`, and one past its
   * signed expiry `expired`, at no query; any other costs one indexed query, unless cached.
   *
   * A token with a usage policy has it applied, as to a request: each call counts against its rate
   * limit and takes one of its uses, and `request.ip` is checked against its allowed addresses (a
   * token with some is refused without it). Refusals by policy are `TokenPolicyError`s. A use it
   * records keeps `request.ip` and the `User-Agent` of `request.headers` as the token's last.
   */
  async verify<User extends object = object>(
    raw: string,
    request?: PresentingRequest,
  ): Promise<VerifiedAccessToken<User>> {
    return this.verifier.resolve<User>(raw, request);
  }

  /**
   * What `verify` does, without a promise when it can: a cache hit is returned as is, and a token
   * refused on its own face is thrown at once.
   */
  resolve<User extends object = object>(
    raw: string,
    request?: PresentingRequest,
  ): VerifiedAccessToken<User> | Promise<VerifiedAccessToken<User>> {
    return this.verifier.resolve<User>(raw, request);
  }

  /**
   * The user's personal tokens (revoked and expired ones included, until pruned) and live login
   * sessions, newest first. For a user with many, `page()`.
   */
  async list(userId: UserId): Promise<AccessTokenView[]> {
    return unlessUnavailable(async () => (await this.find(userId, 'all', null, null)).map(this.viewer()));
  }

  /**
   * A page of what `list()` gives, newest first, from where `options.cursor` says the previous one
   * ended. A cursor stays valid as tokens come and go: it names a place in the order, not an index.
   * Throws `InvalidPaginationError` for a limit, cursor or status that cannot be.
   */
  async page(userId: UserId, options: ListTokensOptions = {}): Promise<TokenPage> {
    return unlessUnavailable(async () => {
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
      return {
        tokens: tokens.map(this.viewer()),
        nextCursor: found.length > limit && last ? encodeCursor(last) : null,
      };
    });
  }

  /** Newest first (`createdAt`, then `id`), after `after` if given. */
  private async find(
    userId: UserId,
    status: 'live' | 'all',
    after: PageCursor | null,
    take: number | null,
  ): Promise<AccessToken[]> {
    // Uses recorded by this process show in the list at once, though written off the request path.
    await this.uses.flush();
    const owner = String(userId);
    const now = stored(this.options.clock.now());
    const live = {
      revokedAt: Or(IsNull(), MoreThan(now)),
      expiresAt: Or(IsNull(), MoreThan(now)),
      idleExpiresAt: Or(IsNull(), MoreThan(now)),
    };
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
    return this.repository.find({
      where,
      order: { createdAt: 'DESC', id: 'ASC' },
      ...(take === null ? {} : { take }),
    });
  }

  /** Renames one of the user's personal tokens. */
  async rename(userId: UserId, tokenId: string, name: string): Promise<AccessTokenView> {
    return this.update(userId, tokenId, { name });
  }

  /**
   * Changes one of the user's personal tokens: its name, its metadata (replaced whole; `null`
   * removes it), its usage policy (each part given; `null` removes one), its scopes (narrowed only:
   * each covered by one of its own, as `unusedScopes` suggests), or pauses (`enabled: false`) or
   * resumes it. Every instance drops what it cached of the token, as for a revocation. A new
   * `maxUses` counts the uses already made: lowering it to fewer than were made leaves none. Throws
   * `InvalidUsagePolicyError` (400) for a policy that cannot be, changing nothing,
   * `InvalidMetadataError` (400) likewise for metadata, `InvalidScopeError` (400) for scopes wider
   * than the token's, and `TokenNotFoundError` for a token that is not the user's.
   */
  async update(userId: UserId, tokenId: string, changes: UpdateTokenInput): Promise<AccessTokenView> {
    return unlessUnavailable(async () => {
      const checked = this.changes.checkChanges(changes);
      return this.changes.update(await this.findPersonal(userId, tokenId), checked);
    });
  }

  /** Pauses one of the user's personal tokens: refused as `paused` until `resume()`. */
  async pause(userId: UserId, tokenId: string): Promise<AccessTokenView> {
    return this.update(userId, tokenId, { enabled: false });
  }

  /** Resumes a paused personal token. */
  async resume(userId: UserId, tokenId: string): Promise<AccessTokenView> {
    return this.update(userId, tokenId, { enabled: true });
  }

  /**
   * Replaces a live personal token with a new one of the same name, scopes and lifetime policy.
   * The old one keeps working for `graceSeconds` (default 0), then counts as revoked (`rotated`).
   * A token is rotated once: rotating it again, or a token revoked or expired, is
   * `TokenNotLiveError` (409), also when two rotations race. `context.within` keeps a token from
   * rotating one with wider scopes than its own. Its metadata goes to the new token. A canary is
   * never rotated: `TokenNotLiveError` too.
   */
  async rotate(
    userId: UserId,
    tokenId: string,
    options: RotateTokenOptions = {},
    context: IssueTokenContext = {},
  ): Promise<IssuedAccessToken> {
    return unlessUnavailable(async () => {
      const grace = this.changes.graceOf(options);
      const found = await this.findPersonal(userId, tokenId);
      return this.changes.rotate(found, grace, {
        check: async () => {
          this.assertWithin(context, found.scopes);
          return this.users.fingerprintOf(await this.users.issuableUser(userId));
        },
        lock: (manager) => this.users.lock(manager, found.userId),
      });
    });
  }

  /**
   * Revokes one of the user's tokens, and every token rotated from it or into it, so that a
   * revoked token never has a live successor; revoking a revoked token changes nothing. Throws
   * `TokenNotFoundError` if no token with that id belongs to the user.
   */
  async revoke(userId: UserId, tokenId: string, reason: string = REVOKED_BY_USER): Promise<AccessTokenView> {
    return unlessUnavailable(async () => {
      if (!isTokenId(tokenId)) throw new TokenNotFoundError(String(tokenId));
      // Neither a refresh token nor a team's token, whose `userId` is a team's id, maybe this user's id.
      const where = { id: tokenId, userId: String(userId), kind: Not(In(['refresh', 'team'] as const)) };
      if ((await this.store.revokeLineage(where, reason)) === null) throw new TokenNotFoundError(tokenId);
      return toView(await this.repository.findOneByOrFail(where), unusedSinceOf(this.options));
    });
  }

  /**
   * Revokes every live token of the user, sessions included; returns how many. Pass the `manager`
   * of a transaction to revoke in it: nothing is revoked (nor announced) if it rolls back.
   */
  async revokeAll(
    userId: UserId,
    reason: string = REVOKED_BY_USER,
    manager: EntityManager = this.store.manager,
  ): Promise<number> {
    return unlessUnavailable(
      async () =>
        (await this.store.revokeWhere(manager, { userId: String(userId), kind: Not('team' as const) }, reason)).length,
    );
  }

  /**
   * Revokes the token whose raw value is given, whoever owns it, with its rotation lineage: what
   * someone who found a leaked token calls. Returns whether a live token was revoked.
   */
  async revokeBySecret(raw: string): Promise<boolean> {
    return unlessUnavailable(async () => {
      const { prefix, sessionPrefix, refreshPrefix } = this.options.tokens;
      // A token this app did not sign is no leak of its own: answered alike, at no query. An expired
      // one is still revoked, to record that it leaked.
      if (
        typeof raw !== 'string' ||
        checkToken(raw, [prefix, sessionPrefix, refreshPrefix], this.options.keys, 0) !== 'signed'
      )
        return false;
      const revoked = await this.store.revokeLineage({ tokenHash: hashToken(raw) }, REVOKED_BY_SECRET);
      return (revoked?.length ?? 0) > 0;
    });
  }

  /**
   * Deletes the tokens that expired, idled out or were revoked longer than
   * `maintenance.retentionSeconds` ago; returns how many. What the module's maintenance runs every
   * `maintenance.intervalSeconds` unless `maintenance.prune: false`; safe to run on several
   * instances at once.
   */
  prune(): Promise<number> {
    return this.maintenance.prune();
  }

  /**
   * Fires `expiring` for each live personal or team token that expires within
   * `maintenance.expiringNoticeSeconds` and has not had it yet, on one instance of several; returns
   * how many. The module's maintenance runs it too.
   */
  notifyExpiring(): Promise<number> {
    return this.maintenance.notifyExpiring();
  }

  /**
   * Writes the uses of tokens recorded so far and still waiting (they are written in batches, at
   * most a second after the first of them), and resolves once they are written. `list()` and
   * `page()` do it first by themselves; a test or a benchmark may want it before reading the table.
   */
  async flushUses(): Promise<void> {
    await this.uses.flush();
  }

  /** Writes the uses still waiting before TypeORM closes its connections. */
  async onModuleDestroy(): Promise<void> {
    await this.uses.flush();
  }

  /** `toView` for a list read now: one window of `unusedScopes` for all its tokens. */
  private viewer(): (token: AccessToken) => AccessTokenView {
    const since = unusedSinceOf(this.options);
    return (token) => toView(token, since);
  }

  private assertWithin(context: IssueTokenContext, scopes: readonly string[]): void {
    const beyond = context.within ? uncovered(context.within, scopes) : [];
    if (beyond.length > 0) {
      throw new InvalidScopeError(
        `A token can only create tokens within its own scopes (${context.within!.join(', ')}), not ${beyond.join(', ')}`,
      );
    }
  }

  /**
   * Refuses a token beyond `tokens.maxPerUser`. The user's row stays locked until `manager`'s
   * transaction ends, so that concurrent issues for one user count one after the other.
   */
  private async assertRoomFor(manager: EntityManager, userId: string): Promise<void> {
    const limit = this.options.tokens.maxPerUser;
    if (limit === null) return;
    await this.users.lock(manager, userId);
    const now = stored(this.options.clock.now());
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
    const token = await this.repository.findOneBy({ id: tokenId, userId: String(userId), kind: 'personal' });
    if (!token) throw new TokenNotFoundError(String(tokenId));
    return token;
  }
}
