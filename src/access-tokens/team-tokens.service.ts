import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, MoreThan, Or, Repository, type EntityManager } from 'typeorm';
import type { ResolvedAccessTokensOptions } from './access-tokens-options.interface.js';
import { REVOKED_BY_USER } from './access-tokens.constants.js';
import type { AccessTokenView, IssueTokenInput, IssuedAccessToken, UserId } from './access-tokens.interfaces.js';
import { RESOLVED_OPTIONS } from './access-tokens.internal-constants.js';
import { InvalidScopeError, TokenNotFoundError, TooManyTokensError } from './core/access-tokens.errors.js';
import { disjoint, validateScopes } from './core/scopes.js';
import { isTokenId } from './core/token-format.js';
import { tokenLifetime, validTokenName } from './core/token-input.js';
import { AccessToken, stored } from './storage/access-token.entity.js';
import { unlessUnavailable } from './storage/outage.js';
import { TeamDirectory } from './storage/team-directory.service.js';
import { TokenStore } from './storage/token-store.js';
import { toView, unusedSinceOf } from './storage/token-view.js';
import { UseRecorder } from './storage/use-recorder.js';
import { checkPolicy } from './usage/usage-policy.js';

/** A team's primary key, as the app's team entity has it. */
export type TeamId = string | number;

/**
 * Issues, lists and revokes the tokens of teams (`forRoot({ teams })`): tokens that belong to a
 * team rather than to the member who made it, and keep working when that member leaves or is
 * blocked. The module does not know who belongs to a team: the app checks membership before it
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
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {}

  /**
   * Issues a token to a team, made by the member `createdBy` (recorded, shown as the view's
   * `createdBy`). As for a user's token: a scope that reaches none of the team's `permissions` is
   * `InvalidScopeError`; the name, lifetime and usage policy are checked alike, and at most
   * `tokens.maxPerUser` live tokens per team. `TeamNotFoundError` (404) for no such team,
   * `TeamBlockedError` (403) for a blocked one.
   */
  async issue(teamId: TeamId, createdBy: UserId, input: IssueTokenInput): Promise<IssuedAccessToken> {
    return unlessUnavailable(async () => {
      const name = validTokenName(input.name);
      const scopes = validateScopes(input.scopes ?? ['*']);
      if (scopes.length === 0) throw new InvalidScopeError('A token needs at least one scope');
      const lifetime = tokenLifetime(input.expiresIn, this.options.tokens);
      const policy = checkPolicy(input, this.options.usage.defaults);
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
          userId: owner,
          kind: 'team',
          createdBy: String(createdBy),
          name,
          scopes,
          lifetime,
          idleTimeout: this.options.tokens.idleTimeoutSeconds,
          familyId: null,
          // The team's watched fields: a rename by a path no subscriber saw still revokes the token.
          fingerprint: this.teams.fingerprintOf(team),
          policy,
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
   * Revokes one of the team's tokens; revoking a revoked token changes nothing. `TokenNotFoundError`
   * if no token of the team has that id (a user's token with the same owner id included).
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
