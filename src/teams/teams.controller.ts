import {
  BadRequestException,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Patch,
  Post,
  type PipeTransform,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import {
  CurrentOwner,
  CurrentToken,
  CurrentUser,
  Scopes,
  TeamTokensService,
  TokenOwners,
  type AccessTokenView,
  type TokenOwner,
  type VerifiedAccessToken,
} from 'nestjs-access-tokens';
import { AccessTokenViewModel, CreatedTokenModel } from 'nestjs-access-tokens/swagger';
import { CreateTokenDto, RotateTokenDto, UpdateTokenDto, type CreatedToken } from 'nestjs-access-tokens/routes';
import { DEMO_CONFIG, type DemoConfig } from '../demo.config.js';
import { User } from '../users/user.entity.js';
import { IsText, MaxBytes, ValidBody } from '../validation.js';
import { TeamWithTokens } from './team-answers.js';
import { publicTeam, Team } from './team.entity.js';
import { TeamsService } from './teams.service.js';

/** The largest id of the teams table (a 32-bit signed integer on every database). */
const MAX_TEAM_ID = 2 ** 31 - 1;

/** A team id from the path: 400 if it is no whole number, 404 if no team can have it. */
class ParseTeamIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^[0-9]+$/.test(value)) throw new BadRequestException('A team id is a whole number');
    const id = Number(value);
    if (id < 1 || id > MAX_TEAM_ID) throw new NotFoundException(`No team ${value}`);
    return id;
  }
}

/** Body of `POST /teams`. */
export class CreateTeamDto {
  @IsText()
  @Matches(/\S/, { message: 'name must not be blank' })
  @MaxBytes(64)
  name!: string;
}

/**
 * Teams, and the tokens that belong to them. A member (by personal token or session) creates a
 * team and its tokens; a team's token then acts as the team on `GET /teams/:id`, and nowhere
 * else: every other route takes personal tokens only.
 */
@Controller('teams')
export class TeamsController {
  constructor(
    private readonly teams: TeamsService,
    private readonly teamTokens: TeamTokensService,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  /** Creates a team; the caller becomes its member. */
  @Post()
  async create(@CurrentUser() user: User, @ValidBody() body: CreateTeamDto) {
    return publicTeam(await this.teams.create(body.name.trim(), user.id));
  }

  /** The caller's teams, each with its tokens (revoked and expired ones too): what the settings page lists. */
  @Scopes('tokens:read')
  @ApiOkResponse({ type: TeamWithTokens, isArray: true })
  @Get()
  async mine(@CurrentUser() user: User) {
    const teams = await this.teams.teamsOf(user.id);
    // Live, expired or revoked by the server's clock, which a browser's may not agree with.
    const now = (this.config.clock?.now() ?? new Date()).getTime();
    const statusOf = (token: AccessTokenView) =>
      token.revokedAt && token.revokedAt.getTime() <= now
        ? 'revoked'
        : token.expiresAt && token.expiresAt.getTime() <= now
          ? 'expired'
          : 'live';
    return Promise.all(
      teams.map(async (team) => ({
        ...publicTeam(team),
        tokens: (await this.teamTokens.list(team.id)).map((token) => ({ ...token, status: statusOf(token) })),
      })),
    );
  }

  /**
   * Issues a token to the team, by one of its members (recorded as its `createdBy`): the body and
   * the answer of `POST /tokens` (a lifetime, a usage policy, metadata, a canary).
   */
  @Scopes('tokens:write')
  @ApiCreatedResponse({ type: CreatedTokenModel })
  @Post(':id/tokens')
  async issue(
    @CurrentUser() user: User,
    @Param('id', ParseTeamIdPipe) id: number,
    @ValidBody() body: CreateTokenDto,
  ): Promise<CreatedToken> {
    await this.teams.ofMember(id, user.id);
    const { token, accessToken } = await this.teamTokens.issue(id, user.id, body);
    return { token, ...accessToken };
  }

  /**
   * Changes one of the team's tokens, for its members: the body of `PATCH /tokens/:id` (a name,
   * `enabled` to pause or resume, a usage policy, metadata, fewer scopes). 404 for a token that is
   * not this team's.
   */
  @Scopes('tokens:write')
  @ApiOkResponse({ type: AccessTokenViewModel })
  @Patch(':id/tokens/:tokenId')
  async update(
    @CurrentUser() user: User,
    @Param('id', ParseTeamIdPipe) id: number,
    @Param('tokenId') tokenId: string,
    @ValidBody() body: UpdateTokenDto,
  ): Promise<AccessTokenView> {
    await this.teams.ofMember(id, user.id);
    return this.teamTokens.update(id, tokenId, body);
  }

  /** A new token of the team in place of the old one, which keeps working for `graceSeconds`; for its members. */
  @Scopes('tokens:write')
  @ApiCreatedResponse({ type: CreatedTokenModel })
  @Post(':id/tokens/:tokenId/rotate')
  async rotate(
    @CurrentUser() user: User,
    @Param('id', ParseTeamIdPipe) id: number,
    @Param('tokenId') tokenId: string,
    @ValidBody() body: RotateTokenDto,
  ): Promise<CreatedToken> {
    await this.teams.ofMember(id, user.id);
    const { token, accessToken } = await this.teamTokens.rotate(id, tokenId, { graceSeconds: body.graceSeconds });
    return { token, ...accessToken };
  }

  /** The team's tokens, for its members: revoked and expired ones too, each with who made it. */
  @Scopes('tokens:read')
  @ApiOkResponse({ type: AccessTokenViewModel, isArray: true })
  @Get(':id/tokens')
  async tokens(@CurrentUser() user: User, @Param('id', ParseTeamIdPipe) id: number) {
    await this.teams.ofMember(id, user.id);
    return this.teamTokens.list(id);
  }

  /** The team, for its own token: the request acts as the team. */
  @TokenOwners('team')
  @Scopes('teams:read')
  @Get(':id')
  show(
    @CurrentOwner() owner: TokenOwner<Team>,
    @CurrentToken() token: VerifiedAccessToken,
    @Param('id', ParseTeamIdPipe) id: number,
  ) {
    if (owner.entity.id !== id) throw new ForbiddenException("This is another team's token");
    return { ...publicTeam(owner.entity), actingAs: owner.kind, scopes: token.scopes };
  }

  /** Blocks a team: an admin's; every token of the team is refused from then on. */
  @Scopes('users:admin')
  @HttpCode(204)
  @Post(':id/block')
  async block(@Param('id', ParseTeamIdPipe) id: number): Promise<void> {
    await this.teams.block(id);
  }
}
