import { Injectable } from '@nestjs/common';
import { And, Like, Not, type FindOptionsWhere } from 'typeorm';
import { AccessTokenEvents } from '../access-token.events.js';
import { BLOCKED, CREDENTIALS_CHANGED, TEAM_DELETED, USER_DELETED } from '../access-tokens.constants.js';
import type { AuthenticatableRequest } from '../access-tokens.interfaces.js';
import { InvalidTokenError, type InvalidTokenReason } from '../core/access-tokens.errors.js';
import { ownerKindOf } from '../core/owner-key.js';
import type { AccessToken } from '../storage/access-token.entity.js';
import { TeamDirectory } from '../storage/team-directory.service.js';
import { TokenStore } from '../storage/token-store.js';
import { UserDirectory } from '../storage/user-directory.service.js';
import { clientAddressOf } from '../usage/usage-policy.js';

/**
 * Whether a stored token may be used now, and the refusal when it may not: shared by the request
 * path (`TokenVerifier`) and the refresh of a login session (`SessionsService`).
 */
@Injectable()
export class TokenChecks {
  constructor(
    private readonly store: TokenStore,
    private readonly users: UserDirectory,
    private readonly teams: TeamDirectory,
    private readonly events: AccessTokenEvents,
  ) {}

  /**
   * Returns the token's user if the token may be used at `now`; throws `InvalidTokenError` saying
   * why not. The user checks catch changes no subscriber saw (raw SQL, `update()`, a deleted row):
   * they revoke for good, so that undoing the change does not bring the tokens back. A refusal is
   * announced with the address of `request`, if given.
   *
   * While its owner is blocked, a token revoked by that block answers as the block does
   * (`user_blocked`, a team's `blocked`), whichever path blocked it: a `save()` that revoked it in
   * its transaction, or a write the subscriber never saw, revoked at the first read. Once the owner
   * is unblocked, it stays revoked, and answers so (`revoked`, `revokedReason: 'blocked'`).
   */
  async usableUser(token: AccessToken, now: Date, request?: Pick<AuthenticatableRequest, 'ip'>): Promise<object> {
    const dead = deadBecause(token, now);
    if (dead) {
      // The owner came with the token's row, by the same query: this costs no read of its own, and
      // a refused token is never cached, so the answer follows the owner's row at every read.
      if (dead.code === 'revoked' && dead.detail === BLOCKED && this.ownerBlocked(token))
        throw this.refuse(token.kind === 'team' ? 'blocked' : 'user_blocked', token, null, request);
      throw this.refuse(dead.code, token, dead.detail, request);
    }
    if (token.pausedAt !== null) throw this.refuse('paused', token, null, request);
    if (token.kind !== 'team') {
      // A user's tokens: every kind but a team's, whose `userId` is a team's id.
      const mine = { userId: token.userId, kind: Not('team' as const) };
      return this.usableOwner(token, token.user, this.users, mine, USER_DELETED, 'user_blocked', request);
    }
    // Without `teams` the module cannot read a team: its tokens are refused, but not revoked.
    if (!this.teams.enabled) throw this.refuse('revoked', token, TEAM_DELETED, request);
    // Only the team's own tokens: never a user's with the same id.
    const theirs = { userId: token.userId, kind: 'team' as const };
    return this.usableOwner(token, token.user, this.teams, theirs, TEAM_DELETED, 'blocked', request);
  }

  /** Whether the token's owner, as the query joined it, is blocked now (never, for a team without `teams`). */
  private ownerBlocked(token: AccessToken): boolean {
    const owner = token.user;
    if (!owner) return false;
    if (token.kind !== 'team') return this.users.isBlocked(owner);
    return this.teams.enabled && this.teams.isBlocked(owner);
  }

  /**
   * `owner` (the token's user or team, as the query joined it), if it may use its tokens: a deleted
   * owner's tokens (`where`) are revoked with `deleted`, a blocked owner's refused `blocked` and
   * revoked, and a watched field changed by a path no subscriber saw revokes them
   * (`credentials_changed`), each refusal announced with the address of `request`.
   */
  private async usableOwner(
    token: AccessToken,
    owner: object | null | undefined,
    directory: Pick<UserDirectory, 'isBlocked' | 'isStale' | 'fingerprintOf'>,
    where: FindOptionsWhere<AccessToken>,
    deleted: string,
    blocked: 'user_blocked' | 'blocked',
    request: Pick<AuthenticatableRequest, 'ip'> | undefined,
  ): Promise<object> {
    if (!owner) {
      await this.store.revokeWhere(this.store.manager, where, deleted);
      throw this.refuse('revoked', token, deleted, request);
    }
    if (directory.isBlocked(owner)) {
      await this.store.revokeWhere(this.store.manager, where, BLOCKED);
      throw this.refuse(blocked, token, null, request);
    }
    if (directory.isStale(token.fingerprint, owner)) {
      const current = directory.fingerprintOf(owner)!;
      await this.store.revokeWhere(
        this.store.manager,
        { ...where, fingerprint: And(Not(current), Like(`${current.split('.')[0]}.%`)) },
        CREDENTIALS_CHANGED,
      );
      throw this.refuse('revoked', token, CREDENTIALS_CHANGED, request);
    }
    return owner;
  }

  /**
   * The error for a refused token, announced as `verification_failed` with the client's address
   * when the verification had a `request`: read here, on the refusal only, and only when anything
   * listens.
   */
  refuse(
    code: InvalidTokenReason,
    token?: AccessToken,
    detail: string | null = null,
    request?: Pick<AuthenticatableRequest, 'ip'>,
  ): InvalidTokenError {
    if (this.events.wants('verification_failed')) {
      this.events.emit('verification_failed', {
        reason: code,
        tokenId: token?.id ?? null,
        userId: token?.userId ?? null,
        address: clientAddressOf(request),
        ...(token && ownerKindOf(token.kind)),
      });
    }
    return new InvalidTokenError(code, detail);
  }
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
