import { Injectable } from '@nestjs/common';
import { And, Like, Not } from 'typeorm';
import { AccessTokenEvents } from '../access-token.events.js';
import { BLOCKED, CREDENTIALS_CHANGED, USER_DELETED } from '../access-tokens.constants.js';
import type { AuthenticatableRequest } from '../access-tokens.interfaces.js';
import { InvalidTokenError, type InvalidTokenReason } from '../core/access-tokens.errors.js';
import type { AccessToken } from '../storage/access-token.entity.js';
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
    private readonly events: AccessTokenEvents,
  ) {}

  /**
   * Returns the token's user if the token may be used at `now`; throws `InvalidTokenError` saying
   * why not. The user checks catch changes no subscriber saw (raw SQL, `update()`, a deleted row):
   * they revoke for good, so that undoing the change does not bring the tokens back. A refusal is
   * announced with the address of `request`, if given.
   */
  async usableUser(token: AccessToken, now: Date, request?: Pick<AuthenticatableRequest, 'ip'>): Promise<object> {
    const dead = deadBecause(token, now);
    if (dead) throw this.refuse(dead.code, token, dead.detail, request);
    if (token.pausedAt !== null) throw this.refuse('paused', token, null, request);
    const { user } = token;
    if (!user) {
      await this.store.revokeWhere(this.store.manager, { userId: token.userId }, USER_DELETED);
      throw this.refuse('revoked', token, USER_DELETED, request);
    }
    if (this.users.isBlocked(user)) {
      await this.store.revokeWhere(this.store.manager, { userId: token.userId }, BLOCKED);
      throw this.refuse('user_blocked', token, null, request);
    }
    if (this.users.isStale(token.fingerprint, user)) {
      const current = this.users.fingerprintOf(user)!;
      await this.store.revokeWhere(
        this.store.manager,
        { userId: token.userId, fingerprint: And(Not(current), Like(`${current.split('.')[0]}.%`)) },
        CREDENTIALS_CHANGED,
      );
      throw this.refuse('revoked', token, CREDENTIALS_CHANGED, request);
    }
    return user;
  }

  /**
   * The error for a refused token, announced as `verification_failed` with the client's address
   * when the verification had a `request`: read here, on the refusal only.
   */
  refuse(
    code: InvalidTokenReason,
    token?: AccessToken,
    detail: string | null = null,
    request?: Pick<AuthenticatableRequest, 'ip'>,
  ): InvalidTokenError {
    this.events.emit('verification_failed', {
      reason: code,
      tokenId: token?.id ?? null,
      userId: token?.userId ?? null,
      address: clientAddressOf(request),
    });
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
