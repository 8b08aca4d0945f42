import { ApiProperty } from '@nestjs/swagger';
import { AccessTokenViewModel } from 'nestjs-access-tokens/swagger';
import type { publicTeam } from './team.entity.js';

/**
 * The answers of the team routes in the OpenAPI document (`/docs-json`): the module's models of
 * a token, with what these routes add to them.
 */

/** Whether a token authenticates now, by the server's clock (a browser's may not agree). */
export const TEAM_TOKEN_STATUSES = ['live', 'expired', 'revoked'] as const;

/** A team's token as `GET /teams` lists it. */
export class ListedTeamToken extends AccessTokenViewModel {
  @ApiProperty({ enum: TEAM_TOKEN_STATUSES, description: "Whether it authenticates now, by the server's clock." })
  status!: (typeof TEAM_TOKEN_STATUSES)[number];
}

/** A team of the caller's, with its tokens, as `GET /teams` lists it. */
export class TeamWithTokens implements ReturnType<typeof publicTeam> {
  @ApiProperty({ type: 'integer' })
  id!: number;

  @ApiProperty({ type: String })
  name!: string;

  @ApiProperty({ type: Boolean, description: "A blocked team's tokens are refused." })
  blocked!: boolean;

  @ApiProperty({ type: [ListedTeamToken], description: 'Its tokens, revoked and expired ones too, newest first.' })
  tokens!: ListedTeamToken[];
}
