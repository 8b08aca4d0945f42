import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { And, In, IsNull, Like, Not, type EntityManager, type FindOptionsWhere, type Repository } from 'typeorm';
import { AccessToken } from './access-token.entity.js';
import { AccessTokenEvents } from './access-token.events.js';
import type { ResolvedAccessTokensOptions } from './access-tokens-options.interface.js';
import {
  BLOCKED,
  CREDENTIALS_CHANGED,
  REVOKED_BY_SECRET,
  REVOKED_BY_USER,
  USER_DELETED,
} from './access-tokens.constants.js';
import {
  AccessTokenError,
  type AccessTokenErrorCode,
  InvalidExpiryError,
  InvalidScopeError,
  InvalidTokenNameError,
  TokenNotFoundError,
  UserNotFoundError,
} from './access-tokens.errors.js';
import { RESOLVED_OPTIONS } from './access-tokens.internal-constants.js';
import type {
  AccessTokenView,
  IssueTokenContext,
  IssueTokenInput,
  IssuedAccessToken,
  UserId,
  VerifiedAccessToken,
} from './access-tokens.interfaces.js';
import { intersectScopes, uncovered, validateScopes } from './scopes.js';
import { generateToken, hashToken, parseToken, tokenHint } from './token-format.js';
import { TransactionHooks } from './transaction-hooks.js';
import { UserDirectory } from './user-directory.service.js';

const MAX_NAME_LENGTH = 100;
/** How many tokens' last write the in-process throttle remembers. */
const MAX_TOUCHED_REMEMBERED = 10_000;

/**
 * Issues, verifies, lists and revokes access tokens.
 *
 * @example
 * const { token, accessToken } = await tokens.issue(user.id, { name: 'CI', scopes: ['users:read'] });
 * // show `token` to the user now: it is never available again
 */
@Injectable()
export class TokensService implements OnModuleDestroy {
  private readonly logger = new Logger(TokensService.name);
  private readonly prefixes: readonly string[];
  /** When this process last wrote `lastUsedAt` for a token, so concurrent requests write once. */
  private readonly touched = new Map<string, number>();
  private readonly pendingWrites = new Set<Promise<void>>();

  constructor(
    @InjectRepository(AccessToken) private readonly tokens: Repository<AccessToken>,
    private readonly users: UserDirectory,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
    private readonly events: AccessTokenEvents,
    private readonly transactions: TransactionHooks,
  ) {
    this.prefixes = [options.tokenPrefix];
  }

  /**
   * Issues a token to a user. Scopes beyond the user's `permissions`, or beyond `context.within`,
   * are refused with `InvalidScopeError`; `*` is always allowed, as it means "whatever the user may
   * do at the time of each request".
   */
  async issue(userId: UserId, input: IssueTokenInput, context: IssueTokenContext = {}): Promise<IssuedAccessToken> {
    const name = typeof input.name === 'string' ? input.name.trim() : '';
    if (name.length === 0 || name.length > MAX_NAME_LENGTH) throw new InvalidTokenNameError();
    const scopes = validateScopes(input.scopes ?? context.within ?? ['*']);
    if (scopes.length === 0) throw new InvalidScopeError('A token needs at least one scope');
    const expiresIn = this.lifetime(input.expiresIn);

    const user = await this.users.findById(userId);
    if (!user) throw new UserNotFoundError(userId);
    if (this.users.isBlocked(user)) throw new AccessTokenError('user_blocked');
    const permissions = await this.users.permissionsOf(user);
    const beyondUser = permissions ? uncovered(permissions, scopes.filter((scope) => scope !== '*')) : [];
    if (beyondUser.length > 0) {
      throw new InvalidScopeError(`The user may not grant ${beyondUser.join(', ')}; they may grant ${permissions!.join(', ') || 'nothing'}`);
    }
    const beyondToken = context.within ? uncovered(context.within, scopes) : [];
    if (beyondToken.length > 0) {
      throw new InvalidScopeError(`A token can only create tokens within its own scopes (${context.within!.join(', ')}), not ${beyondToken.join(', ')}`);
    }

    const raw = generateToken(this.options.tokenPrefix);
    const now = this.options.clock.now();
    const token = this.tokens.create({
      id: randomUUID(),
      userId: this.users.idOf(user),
      name,
      tokenHash: hashToken(raw),
      hint: tokenHint(raw),
      scopes,
      createdAt: now,
      expiresAt: expiresIn === null ? null : new Date(now.getTime() + expiresIn * 1000),
      lastUsedAt: null,
      revokedAt: null,
      fingerprint: this.users.fingerprinter.of(user),
      revokedReason: null,
    });
    await this.tokens.insert(token);
    const { id, userId: owner, expiresAt } = token;
    this.events.emit('issued', { userId: owner, tokenId: id, name, scopes: [...scopes], expiresAt });
    return { token: raw, accessToken: toView(token) };
  }

  /**
   * Checks a raw token and returns its user and effective scopes. Throws `AccessTokenError`
   * (`malformed`, `unknown`, `expired`, `revoked`, `user_blocked`). A malformed token costs no query;
   * any other costs one indexed query.
   */
  async verify<User extends object = object>(raw: string): Promise<VerifiedAccessToken<User>> {
    if (typeof raw !== 'string' || parseToken(raw, this.prefixes) === null) throw this.refuse('malformed');
    const token = await this.tokens
      .createQueryBuilder('token')
      .leftJoinAndMapOne('token.user', this.users.entity as new () => object, 'user', this.users.joinCondition('token', 'user'))
      .where('token.tokenHash = :hash', { hash: hashToken(raw) })
      .getOne();
    if (!token) throw this.refuse('unknown');
    if (token.revokedAt) throw this.refuse('revoked', token, token.revokedReason);
    const now = this.options.clock.now();
    if (token.expiresAt && token.expiresAt.getTime() <= now.getTime()) throw this.refuse('expired', token);
    const { user } = token;
    // The checks below catch changes no subscriber saw (raw SQL, update(), a deleted row): they
    // revoke for good, so that undoing the change does not bring the tokens back.
    if (!user) {
      await this.revokeWhere(this.tokens.manager, { userId: token.userId }, USER_DELETED);
      throw this.refuse('revoked', token, USER_DELETED);
    }
    if (this.users.isBlocked(user)) {
      await this.revokeWhere(this.tokens.manager, { userId: token.userId }, BLOCKED);
      throw this.refuse('user_blocked', token);
    }
    const { fingerprinter } = this.users;
    if (fingerprinter.isStale(token.fingerprint, user)) {
      const current = fingerprinter.of(user)!;
      await this.revokeWhere(
        this.tokens.manager,
        { userId: token.userId, fingerprint: And(Not(current), Like(`${current.split('.')[0]}.%`)) },
        CREDENTIALS_CHANGED,
      );
      throw this.refuse('revoked', token, CREDENTIALS_CHANGED);
    }

    const permissions = await this.users.permissionsOf(user);
    this.touch(token, now);
    return {
      user: user as User,
      accessToken: toView(token),
      scopes: permissions ? intersectScopes(token.scopes, permissions) : token.scopes,
    };
  }

  /** The user's tokens, newest first, revoked and expired ones included. */
  async list(userId: UserId): Promise<AccessTokenView[]> {
    // Uses recorded by this process show in the list at once, though written off the request path.
    await Promise.allSettled([...this.pendingWrites]);
    const tokens = await this.tokens.find({ where: { userId: String(userId) }, order: { createdAt: 'DESC', id: 'ASC' } });
    return tokens.map(toView);
  }

  /**
   * Revokes one of the user's tokens; revoking a revoked token changes nothing. Throws
   * `TokenNotFoundError` if no token with that id belongs to the user.
   */
  async revoke(userId: UserId, tokenId: string, reason: string = REVOKED_BY_USER): Promise<AccessTokenView> {
    const where = { id: String(tokenId), userId: String(userId) };
    if (!(await this.tokens.existsBy(where))) throw new TokenNotFoundError(String(tokenId));
    await this.revokeWhere(this.tokens.manager, where, reason);
    return toView(await this.tokens.findOneByOrFail(where));
  }

  /**
   * Revokes every live token of the user; returns how many. Pass the `manager` of a transaction to
   * revoke in it: nothing is revoked (nor announced) if it rolls back.
   */
  async revokeAll(userId: UserId, reason: string = REVOKED_BY_USER, manager: EntityManager = this.tokens.manager): Promise<number> {
    return (await this.revokeWhere(manager, { userId: String(userId) }, reason)).length;
  }

  /**
   * Revokes the token whose raw value is given, whoever owns it: what someone who found a leaked
   * token calls. Returns whether a live token was revoked.
   */
  async revokeBySecret(raw: string): Promise<boolean> {
    if (typeof raw !== 'string' || parseToken(raw, this.prefixes) === null) return false;
    return (await this.revokeWhere(this.tokens.manager, { tokenHash: hashToken(raw) }, REVOKED_BY_SECRET)).length > 0;
  }

  /** Waits for `lastUsedAt` writes still under way, before TypeORM closes its connections. */
  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled([...this.pendingWrites]);
  }

  /** Revokes the live tokens `where` selects, and announces it once the transaction commits. */
  private async revokeWhere(manager: EntityManager, where: FindOptionsWhere<AccessToken>, reason: string): Promise<string[]> {
    const repository = manager.getRepository(AccessToken);
    const live = await repository.find({ select: { id: true, userId: true }, where: { ...where, revokedAt: IsNull() } });
    if (live.length === 0) return [];
    const ids = live.map((token) => token.id);
    await repository.update({ id: In(ids), revokedAt: IsNull() }, { revokedAt: this.options.clock.now(), revokedReason: reason });
    const byUser = new Map<string, string[]>();
    for (const { id, userId } of live) byUser.set(userId, [...(byUser.get(userId) ?? []), id]);
    this.transactions.afterCommit(manager, () => {
      for (const [userId, tokenIds] of byUser) this.events.emit('revoked', { userId, tokenIds, reason });
    });
    return ids;
  }

  /** The error for a refused token, announced as `verification_failed`. */
  private refuse(code: AccessTokenErrorCode, token?: AccessToken, revokedReason: string | null = null): AccessTokenError {
    this.events.emit('verification_failed', { reason: code, tokenId: token?.id ?? null, userId: token?.userId ?? null });
    return new AccessTokenError(code, revokedReason);
  }

  private lifetime(expiresIn: number | null | undefined): number | null {
    const { defaultExpiresIn, maxExpiresIn } = this.options;
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

  /** Records the use, at most once per `lastUsedInterval`, without making the request wait. */
  private touch(token: AccessToken, now: Date): void {
    const last = Math.max(token.lastUsedAt?.getTime() ?? -Infinity, this.touched.get(token.id) ?? -Infinity);
    if (now.getTime() - last < this.options.lastUsedInterval * 1000) return;
    if (this.touched.size >= MAX_TOUCHED_REMEMBERED) this.touched.clear();
    this.touched.set(token.id, now.getTime());
    token.lastUsedAt = now;
    const write = this.tokens
      .update({ id: token.id }, { lastUsedAt: now })
      .then(
        () => undefined,
        (error: unknown) => this.logger.warn(`Could not record the use of token ${token.id}: ${String(error)}`),
      )
      .finally(() => this.pendingWrites.delete(write));
    this.pendingWrites.add(write);
  }
}

function toView(token: AccessToken): AccessTokenView {
  return {
    id: token.id,
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
