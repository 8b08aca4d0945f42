import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { In, IsNull, Repository, type EntityManager } from 'typeorm';
import type { ResolvedAccessTokensOptions } from './access-tokens-options.interface.js';
import { RESOLVED_OPTIONS } from './access-tokens.internal-constants.js';
import { AccessToken } from './storage/access-token.entity.js';
import { LOGGED_OUT, REFRESH_TOKEN_REUSED, REFRESHED } from './access-tokens.constants.js';
import type { InvalidTokenError } from './core/access-tokens.errors.js';
import type { SessionTokens, UserId } from './access-tokens.interfaces.js';
import { checkToken, hashToken, isTokenId } from './core/token-format.js';
import { TokenQueries } from './storage/token-queries.js';
import { unlessUnavailable } from './storage/outage.js';
import { TokenStore } from './storage/token-store.js';
import { toView, unusedSinceOf } from './storage/token-view.js';
import { UserDirectory } from './storage/user-directory.service.js';
import { TokenChecks } from './verification/token-checks.js';

/**
 * Login sessions with opaque tokens: a short-lived access token and a refresh token, hashed like
 * every token and with prefixes of their own (`nat_s_`, `nat_r_`). A refresh token works once:
 * presenting a used one revokes its whole session (RFC 9700 §4.14), since either its holder or a
 * thief has the newer one.
 *
 * @example
 * const user = await passwords.authenticate(username, password, request);   // PasswordGrantService, or the app's own check
 * return sessions.start(user.id);                               // { accessToken, refreshToken, expiresIn, ... }
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly store: TokenStore,
    @InjectRepository(AccessToken) private readonly repository: Repository<AccessToken>,
    private readonly queries: TokenQueries,
    private readonly checks: TokenChecks,
    private readonly users: UserDirectory,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {}

  /**
   * Starts a session for a user whose credentials the app has checked. Pass the user entity as
   * the app loaded and checked it (or its id): if its password changes meanwhile, the session
   * never works (`InvalidCredentialsError` when the change is seen before it is stored).
   */
  async start(subject: UserId | object): Promise<SessionTokens> {
    const user = await unlessUnavailable(() => this.users.issuableUser(subject));
    return this.store.transaction((manager) => this.issuePair(manager, user, randomUUID()));
  }

  /**
   * Trades a refresh token for a new pair, and revokes the one presented and the session's
   * previous access token. Throws `InvalidTokenError`; a reused refresh token revokes the session.
   */
  async refresh(refreshToken: string): Promise<SessionTokens> {
    const check =
      typeof refreshToken === 'string'
        ? checkToken(
            refreshToken,
            [this.options.tokens.refreshPrefix],
            this.options.keys,
            this.options.clock.now().getTime(),
          )
        : 'malformed';
    if (check !== 'signed') throw this.checks.refuse(check);
    return unlessUnavailable(() => this.refreshSigned(refreshToken));
  }

  /** `refresh()` of a refresh token this app signed, not yet expired. */
  private async refreshSigned(refreshToken: string): Promise<SessionTokens> {
    const token = await this.queries.findByHash(hashToken(refreshToken));
    if (!token || token.kind !== 'refresh') throw this.checks.refuse('unknown');
    // Its session was ended by a reuse already, and nothing of it can be renewed: no lock, no write.
    if (token.revokedReason === REFRESH_TOKEN_REUSED) throw this.checks.refuse('revoked', token, REFRESH_TOKEN_REUSED);
    if (token.revokedReason === REFRESHED) throw await this.reused(token);
    const now = this.options.clock.now();
    const user = await this.checks.usableUser(token, now);
    // Claimed by one conditional update of its own, so that of concurrent refreshes exactly one
    // wins, and no row lock is held while the new pair is written (MariaDB deadlocked otherwise).
    const claim = await this.repository.update(
      { id: token.id, revokedAt: IsNull() },
      { revokedAt: now, revokedReason: REFRESHED },
    );
    if ((claim.affected ?? 0) === 0) throw await this.reused(token);
    return this.store.transaction(async (manager) => {
      // One at a time with `end()` and `reused()` for the user: a logout or a reuse of this refresh
      // token that landed since the claim ends the session, and this refresh with it.
      await this.users.lock(manager, token.userId);
      const ended = await manager.getRepository(AccessToken).findOne({
        select: { id: true, revokedReason: true },
        where: { familyId: token.familyId!, revokedReason: In([LOGGED_OUT, REFRESH_TOKEN_REUSED]) },
      });
      if (ended) throw this.checks.refuse('revoked', token, ended.revokedReason!);
      await this.store.revokeWhere(manager, { familyId: token.familyId!, kind: 'session' }, REFRESHED);
      return this.issuePair(manager, user, token.familyId!);
    });
  }

  /**
   * Ends one of the user's sessions; returns how many tokens that revoked. Nothing of the session
   * works afterwards, a refresh that raced it included.
   */
  async end(userId: UserId, sessionId: string): Promise<number> {
    return unlessUnavailable(async () => {
      if (!isTokenId(sessionId)) return 0;
      return this.store.transaction(async (manager) => {
        await this.users.lock(manager, userId);
        return (await this.store.revokeWhere(manager, { userId: String(userId), familyId: sessionId }, LOGGED_OUT))
          .length;
      });
    });
  }

  private async issuePair(manager: EntityManager, user: object, familyId: string): Promise<SessionTokens> {
    const { accessLifetimeSeconds, refreshLifetimeSeconds } = this.options.sessions;
    const common = {
      userId: this.users.idOf(user),
      scopes: ['*'],
      idleTimeout: null,
      familyId,
      fingerprint: this.users.fingerprintOf(user),
    };
    const access = await this.store.insert(manager, {
      ...common,
      kind: 'session',
      name: 'Login session',
      lifetime: accessLifetimeSeconds,
    });
    const refresh = await this.store.insert(manager, {
      ...common,
      kind: 'refresh',
      name: 'Refresh token',
      lifetime: refreshLifetimeSeconds,
    });
    return {
      accessToken: access.raw,
      refreshToken: refresh.raw,
      expiresIn: accessLifetimeSeconds,
      session: toView(access.token, unusedSinceOf(this.options)),
      userId: common.userId,
    };
  }

  /**
   * Revokes the whole session of a refresh token presented a second time. Under the user's lock,
   * as `refreshSigned()` writes a new pair: a pair committed before is revoked here, and one not
   * yet written is refused there, seeing the used refresh token marked as reused (a mark kept
   * even when no other token of the session was live to revoke).
   */
  private async reused(token: AccessToken): Promise<InvalidTokenError> {
    await this.store.transaction(async (manager) => {
      await this.users.lock(manager, token.userId);
      await this.store.revokeWhere(manager, { familyId: token.familyId! }, REFRESH_TOKEN_REUSED);
      await manager
        .getRepository(AccessToken)
        .update({ id: token.id, revokedReason: REFRESHED }, { revokedReason: REFRESH_TOKEN_REUSED });
    });
    return this.checks.refuse('revoked', token, REFRESH_TOKEN_REUSED);
  }
}
