import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, MoreThan, Or, Repository, type EntityManager } from 'typeorm';
import type { ResolvedAccessTokensOptions } from './access-tokens-options.interface.js';
import { REVOKED_BY_USER } from './access-tokens.constants.js';
import type {
  AccessTokenView,
  IssueTokenInput,
  IssuedAccessToken,
  RotateTokenOptions,
  UpdateTokenInput,
  UserId,
} from './access-tokens.interfaces.js';
import { RESOLVED_OPTIONS } from './access-tokens.internal-constants.js';
import { InvalidScopeError, TokenNotFoundError, TooManyTokensError } from './core/access-tokens.errors.js';
import { disjoint } from './core/scopes.js';
import { isTokenId } from './core/token-format.js';
import { AccessToken, stored } from './storage/access-token.entity.js';
import { unlessUnavailable } from './storage/outage.js';
import { TeamDirectory } from './storage/team-directory.service.js';
import { TokenChanges } from './storage/token-changes.js';
import { TokenStore } from './storage/token-store.js';
import { toView, unusedSinceOf } from './storage/token-view.js';
import { UseRecorder } from './storage/use-recorder.js';

/** A team's primary key, as the app's team entity has it. */
export type TeamId = string | number;

/**
 * Issues, lists, changes, pauses, rotates and revokes the tokens of teams (`forRoot({ teams })`):
 * tokens that belong to a team rather than to the member who made it, and keep working when that
 * member leaves or is blocked. Each method does what `TokensService`'s of the same name does for a
 * user's token, with the same checks, errors and events (`userId` is then the team's id). The module does not know who belongs to a team: the app checks membership before it
 * calls `issue()`, which records the member as `createdBy`. A team's token acts as the team: its
 * effective scopes are its own within `teams.permissions(team)` at each request, and it is refused
 * on every route without `@TokenOwners('team')`.
 *
 * @example
 * if (!(await members.isMember(teamId, user.id))) throw new ForbiddenException();
 * const { token } = await teamTokens.issue(teamId, user.id, { name: 'deploys', scopes: ['deploy'] });
 */
@Injectable()
export class TeamTokensService {
  constructor(
    private readonly store: TokenStore,
    @InjectRepository(AccessToken) private readonly repository: Repository<AccessToken>,
    private readonly teams: TeamDirectory,
    private readonly uses: UseRecorder,
    private readonly changes: TokenChanges,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {}

  /**
   * Issues a token to a team, made by the member `createdBy` (recorded, shown as the view's
   * `createdBy`). As for a user's token: a scope that reaches none of the team's `permissions` is
   * `InvalidScopeError`; the name, lifetime, metadata and usage policy are checked alike, a canary
   * (`canary: true`) never authenticates nor expires, and at most `tokens.maxPerUser` live tokens
   * per team. `TeamNotFoundError` (404) for no such team, `TeamBlockedError` (403) for a blocked one.
   */
  async issue(teamId: TeamId, createdBy: UserId, input: IssueTokenInput): Promise<IssuedAccessToken> {
    return unlessUnavailable(async () => {
      const checked = this.changes.checkIssue(input, ['*']);
      const { scopes } = checked;
      const team = await this.teams.issuableTeam(teamId);
      const permissions = await this.teams.permissionsOf(team);
      const beyond = permissions
        ? disjoint(
            permissions,
            scopes.filter((scope) => scope !== '*'),
          )
        : [];
      if (beyond.length > 0) {
        throw new InvalidScopeError(
          `The team may not grant ${beyond.join(', ')}; it may grant ${permissions!.join(', ') || 'nothing'}`,
        );
      }
      const owner = this.teams.idOf(team);
      const { raw, token } = await this.store.transaction(async (manager) => {
        await this.assertRoomFor(manager, owner);
        return this.store.insert(manager, {
          ...checked,
          userId: owner,
          kind: 'team',
          createdBy: String(createdBy),
          familyId: null,
          // The team's watched fields: a rename by a path no subscriber saw still revokes the token.
          fingerprint: this.teams.fingerprintOf(team),
        });
      });
      return { token: raw, accessToken: toView(token, unusedSinceOf(this.options)) };
    });
  }

  /** The team's tokens (revoked and expired ones included, until pruned), newest first. */
  async list(teamId: TeamId): Promise<AccessTokenView[]> {
    return unlessUnavailable(async () => {
      // Uses recorded by this process show in the list at once, though written off the request path.
      await this.uses.flush();
      const tokens = await this.repository.find({
        where: { userId: String(teamId), kind: 'team' },
        order: { createdAt: 'DESC', id: 'ASC' },
      });
      const since = unusedSinceOf(this.options);
      return tokens.map((token) => toView(token, since));
    });
  }

  /**
   * Changes one of the team's tokens, as `TokensService.update()` a user's: its name, its metadata
   * (replaced whole; `null` removes it), its usage policy (each part given; `null` removes one),
   * its scopes (narrowed only), or pauses (`enabled: false`) or resumes it, dropped from every
   * instance's cache. `InvalidUsagePolicyError`, `InvalidMetadataError` or `InvalidScopeError`
   * (400) change nothing; `TokenNotFoundError` for a token that is not the team's.
   */
  async update(teamId: TeamId, tokenId: string, changes: UpdateTokenInput): Promise<AccessTokenView> {
    return unlessUnavailable(async () => {
      const checked = this.changes.checkChanges(changes);
      return this.changes.update(await this.findOfTeam(teamId, tokenId), checked);
    });
  }

  /** Pauses one of the team's tokens: refused as `paused` until `resume()`. */
  async pause(teamId: TeamId, tokenId: string): Promise<AccessTokenView> {
    return this.update(teamId, tokenId, { enabled: false });
  }

  /** Resumes a paused token of the team. */
  async resume(teamId: TeamId, tokenId: string): Promise<AccessTokenView> {
    return this.update(teamId, tokenId, { enabled: true });
  }

  /**
   * Replaces a live token of the team with a new one of the same name, scopes, lifetime policy,
   * metadata and `createdBy`, as `TokensService.rotate()` a user's. The old one keeps working for
   * `graceSeconds` (default 0), then counts as revoked (`rotated`). Rotating it again, or a token
   * revoked or expired, or a canary, is `TokenNotLiveError` (409), also when two rotations race.
   * `TeamNotFoundError` (404) or `TeamBlockedError` (403) for a team that may have no new token.
   */
  async rotate(teamId: TeamId, tokenId: string, options: RotateTokenOptions = {}): Promise<IssuedAccessToken> {
    return unlessUnavailable(async () => {
      const grace = this.changes.graceOf(options);
      const found = await this.findOfTeam(teamId, tokenId);
      return this.changes.rotate(found, grace, {
        // As for a new token: the team must still be there and unblocked, its fingerprint taken now.
        check: async () => this.teams.fingerprintOf(await this.teams.issuableTeam(teamId)),
        lock: (manager) => this.teams.lock(manager, found.userId),
      });
    });
  }

  /**
   * Revokes one of the team's tokens, and every token rotated from it or into it, so that a
   * revoked token never has a live successor; revoking a revoked token changes nothing.
   * `TokenNotFoundError` if no token of the team has that id (a user's token with the same owner
   * id included).
   */
  async revoke(teamId: TeamId, tokenId: string, reason: string = REVOKED_BY_USER): Promise<AccessTokenView> {
    return unlessUnavailable(async () => {
      if (!isTokenId(tokenId)) throw new TokenNotFoundError(String(tokenId));
      const where = { id: tokenId, userId: String(teamId), kind: 'team' as const };
      if ((await this.store.revokeLineage(where, reason)) === null) throw new TokenNotFoundError(tokenId);
      return toView(await this.repository.findOneByOrFail(where), unusedSinceOf(this.options));
    });
  }

  /**
   * Revokes every live token of the team; returns how many. Pass the `manager` of a transaction to
   * revoke in it: nothing is revoked (nor announced) if it rolls back.
   */
  async revokeAll(
    teamId: TeamId,
    reason: string = REVOKED_BY_USER,
    manager: EntityManager = this.store.manager,
  ): Promise<number> {
    return unlessUnavailable(
      async () => (await this.store.revokeWhere(manager, { userId: String(teamId), kind: 'team' }, reason)).length,
    );
  }

  private async findOfTeam(teamId: TeamId, tokenId: string): Promise<AccessToken> {
    if (!isTokenId(tokenId)) throw new TokenNotFoundError(String(tokenId));
    const token = await this.repository.findOneBy({ id: tokenId, userId: String(teamId), kind: 'team' });
    if (!token) throw new TokenNotFoundError(String(tokenId));
    return token;
  }

  /** Refuses a token beyond `tokens.maxPerUser` live ones for the team, counted under the team's row lock. */
  private async assertRoomFor(manager: EntityManager, teamId: string): Promise<void> {
    const limit = this.options.tokens.maxPerUser;
    if (limit === null) return;
    await this.teams.lock(manager, teamId);
    const now = stored(this.options.clock.now());
    const live = await manager.getRepository(AccessToken).countBy({
      userId: teamId,
      kind: 'team',
      revokedAt: Or(IsNull(), MoreThan(now)),
      expiresAt: Or(IsNull(), MoreThan(now)),
    });
    if (live >= limit) throw new TooManyTokensError(limit);
  }
}
