import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository, type EntityManager } from 'typeorm';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { ROTATED } from '../access-tokens.constants.js';
import type {
  AccessTokenView,
  IssueTokenInput,
  IssuedAccessToken,
  RotateTokenOptions,
  UpdateTokenInput,
} from '../access-tokens.interfaces.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import {
  InvalidExpiryError,
  InvalidScopeError,
  InvalidUsagePolicyError,
  TokenNotLiveError,
} from '../core/access-tokens.errors.js';
import { checkMetadata } from '../core/metadata.js';
import { uncovered, validateScopes } from '../core/scopes.js';
import { tokenLifetime, validTokenName } from '../core/token-input.js';
import { checkPolicy, type StoredPolicy } from '../usage/usage-policy.js';
import { deadBecause } from '../verification/token-checks.js';
import { AccessToken, type TokenMetadata } from './access-token.entity.js';
import { policyOf } from './policy-columns.js';
import { TokenStore } from './token-store.js';
import { toView, unusedSinceOf } from './token-view.js';
import { ownerKindOf } from '../core/owner-key.js';

const MAX_GRACE_SECONDS = 7 * 24 * 3600;

/** What `TokenChanges.checkIssue` makes of an `IssueTokenInput`: a new token's row, but for its owner. */
export interface CheckedIssue {
  name: string;
  scopes: string[];
  canary: boolean;
  /** Seconds; `null` for no expiry (a canary's, always). */
  lifetime: number | null;
  /** Seconds; `null` for none (a canary's, always). */
  idleTimeout: number | null;
  metadata: TokenMetadata | null | undefined;
  policy: StoredPolicy;
}

/** An `UpdateTokenInput` whose parts were checked, before the token is looked for. */
export interface CheckedChanges {
  readonly input: UpdateTokenInput;
  readonly name: string | undefined;
  readonly metadata: TokenMetadata | null | undefined;
  readonly scopes: string[] | undefined;
}

/** What a rotation needs of the token's owner (a user, a team): its checks and its lock. */
export interface RotatingOwner {
  /**
   * The owner's checks, once the token is found and is no canary, before anything is written: that
   * the owner may still have tokens (and, for a token made by a token, within its scopes). Returns
   * the fingerprint of the owner's watched fields, for the new token to keep.
   */
  check(): Promise<string | null>;
  /**
   * Locks the owner's row until `manager`'s transaction ends: a rotation goes one at a time with
   * the owner's other rotations and revocations.
   */
  lock(manager: EntityManager): Promise<void>;
}

/**
 * What issuing, changing and rotating a token do whoever owns it, for `TokensService` (a user's
 * tokens) and `TeamTokensService` (a team's): each service finds the token among its owner's and
 * gives the owner's checks and lock; the checks of the input, the writes under the token's row
 * lock and the events are here, once.
 */
@Injectable()
export class TokenChanges {
  constructor(
    private readonly store: TokenStore,
    @InjectRepository(AccessToken) private readonly repository: Repository<AccessToken>,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {}

  /**
   * The name, scopes (`scopes` if the input gives none), lifetime, metadata and usage policy of a
   * new token, checked; the owner's own checks (its permissions) are the caller's. A canary never
   * expires nor idles out: its signed expiry would refuse it as expired before the database is
   * asked, and its alarm with it.
   */
  checkIssue(input: IssueTokenInput, scopes: readonly string[]): CheckedIssue {
    const name = validTokenName(input.name);
    const checkedScopes = validateScopes(input.scopes ?? scopes);
    if (checkedScopes.length === 0) throw new InvalidScopeError('A token needs at least one scope');
    const canary = input.canary === true;
    if (canary && input.expiresIn !== undefined && input.expiresIn !== null)
      throw new InvalidExpiryError('A canary never expires: leave out expiresIn');
    return {
      name,
      scopes: checkedScopes,
      canary,
      lifetime: canary ? null : tokenLifetime(input.expiresIn, this.options.tokens),
      idleTimeout: canary ? null : this.options.tokens.idleTimeoutSeconds,
      metadata: validMetadata(input.metadata),
      // Each part the input leaves out takes the module's default.
      policy: checkPolicy(input, this.options.usage.defaults),
    };
  }

  /** The parts of `changes` that need no token to be checked: refused before the token is looked for. */
  checkChanges(changes: UpdateTokenInput): CheckedChanges {
    if (typeof changes !== 'object' || changes === null) throw new InvalidUsagePolicyError('changes must be an object');
    const name = changes.name === undefined ? undefined : validTokenName(changes.name);
    if (changes.enabled !== undefined && typeof changes.enabled !== 'boolean')
      throw new InvalidUsagePolicyError('enabled must be true or false');
    const metadata = validMetadata(changes.metadata);
    const scopes = changes.scopes === undefined ? undefined : validateScopes(changes.scopes);
    if (scopes?.length === 0) throw new InvalidScopeError('A token needs at least one scope');
    return { input: changes, name, metadata, scopes };
  }

  /**
   * Applies `changes` to the token `found` (its owner's, as the caller checked): its name,
   * metadata, policy, narrowed scopes and pause. Returns the token's view after the change.
   */
  async update(found: AccessToken, changes: CheckedChanges): Promise<AccessTokenView> {
    const { input, name, metadata, scopes } = changes;
    const now = this.options.clock.now();
    await this.store.transaction(async (manager) => {
      // Judged against the row as locked: two narrowings, or two pauses, never undo one another.
      const current = await this.store.locked(manager, found.id);
      const beyond = scopes ? uncovered(current.scopes, scopes) : [];
      if (beyond.length > 0) {
        throw new InvalidScopeError(
          `A token's scopes can only be narrowed: ${beyond.join(', ')} is beyond its ${current.scopes.join(', ')}`,
        );
      }
      await this.store.updatePolicy(manager, current, {
        name,
        policy: checkPolicy(input, policyOf(current)),
        quotaChanged: input.maxUses !== undefined || input.usesPeriod !== undefined,
        pausedAt: input.enabled === undefined ? undefined : input.enabled ? null : (current.pausedAt ?? now),
        metadata,
        scopes,
        now,
      });
      // Announced when the state changes: pausing a paused token, or resuming a live one, is no event.
      if (input.enabled !== undefined && input.enabled === (current.pausedAt !== null)) {
        const { userId, id: tokenId } = current;
        this.store.announce(manager, input.enabled ? 'resumed' : 'paused', {
          userId,
          tokenId,
          ...ownerKindOf(current.kind),
        });
      }
    });
    return toView(await this.repository.findOneByOrFail({ id: found.id }), unusedSinceOf(this.options));
  }

  /** The grace period `options` asks for, in seconds: `InvalidExpiryError` for one that cannot be. */
  graceOf(options: RotateTokenOptions): number {
    const grace = options.graceSeconds ?? 0;
    if (!Number.isSafeInteger(grace) || grace < 0 || grace > MAX_GRACE_SECONDS) {
      throw new InvalidExpiryError(`graceSeconds must be a whole number from 0 to ${MAX_GRACE_SECONDS}`);
    }
    return grace;
  }

  /**
   * Replaces the live token `found` (its owner's, as the caller checked) with a new one of the same
   * owner, kind, name, scopes, lifetime policy, metadata and maker; the old one counts as revoked
   * (`rotated`) `grace` seconds from now. A canary, or a token no longer live (rotated already, also
   * by a racing rotation), is `TokenNotLiveError`.
   */
  async rotate(found: AccessToken, grace: number, owner: RotatingOwner): Promise<IssuedAccessToken> {
    if (found.canary) throw new TokenNotLiveError(found.id, true);
    const fingerprint = await owner.check();
    return this.store.transaction(async (manager) => {
      // One at a time per owner with other rotations and revocations, the token read anew under the
      // lock: of two racing rotations one wins, and a token revoked meanwhile is not replaced.
      await owner.lock(manager);
      const tokens = manager.getRepository(AccessToken);
      // Locked against the request path's atomic take of a use, so that the uses left move to
      // the new token exactly.
      const old = await this.store.locked(manager, found.id);
      const now = this.options.clock.now();
      // A token in its grace period was rotated already: its successor is the one to rotate.
      if (old.revokedAt !== null || deadBecause(old, now)) throw new TokenNotLiveError(old.id);
      const familyId = old.familyId ?? old.id;
      if (old.familyId === null) await tokens.update({ id: old.id }, { familyId });
      const { raw, token } = await this.store.insert(manager, {
        userId: old.userId,
        kind: old.kind,
        createdBy: old.createdBy,
        name: old.name,
        scopes: old.scopes,
        lifetime: old.lifetime,
        idleTimeout: old.idleTimeout,
        familyId,
        fingerprint,
        policy: policyOf(old),
        metadata: old.metadata as TokenMetadata | null,
        carried: { pausedAt: old.pausedAt, usesLeft: old.usesLeft, usesRenewAt: old.usesRenewAt },
      });
      // Its uses went to the new token: in its grace period, the old one has none of its own, and
      // none are ever restored to it.
      if (old.maxUses !== null) await tokens.update({ id: old.id }, { usesLeft: 0, usesRenewAt: null });
      await this.store.revokeWhere(manager, { id: old.id }, ROTATED, new Date(now.getTime() + grace * 1000));
      this.store.announce(manager, 'rotated', {
        userId: old.userId,
        tokenId: old.id,
        newTokenId: token.id,
        graceSeconds: grace,
        ...ownerKindOf(old.kind),
      });
      return { token: raw, accessToken: toView(token, unusedSinceOf(this.options)) };
    });
  }
}

/** Metadata as given: `undefined` (unchanged, or none) and `null` (none) as they are, anything else checked. */
function validMetadata<Given extends TokenMetadata | null | undefined>(metadata: Given): Given {
  return metadata === undefined || metadata === null ? metadata : (checkMetadata(metadata) as Given);
}
