import { ApiProperty, ApiSchema } from '@nestjs/swagger';
import type { AccessTokenView } from '../access-tokens.interfaces.js';
import type { CreatedToken, GeneratedToken } from '../routes/token-routes.controller.js';
import type { TokenPair } from '../routes/session-routes.controller.js';
import type { RouteAnswerModel } from '../routes/route-answer.decorator.js';
import type { RateLimit } from '../usage/usage-policy.js';
import type { Class } from './validation-schemas.js';

/**
 * The module's answers as `@nestjs/swagger` models: what the ready-made routes answer, documented
 * by `createAccessTokensDocument`, and what an app's own routes that answer the same shapes pass to
 * `@ApiOkResponse({ type })`. Each class `implements` the type it documents, so that a property
 * added to the type and not here fails to compile; `test/openapi.e2e-spec.ts` holds each schema
 * against real answers. The classes are never made: they only carry the metadata.
 */

/** A token's kinds: a record of every one of `AccessTokenView['kind']`, and no other (the compiler checks). */
const KINDS = Object.keys({ personal: true, team: true, session: true } satisfies Record<
  AccessTokenView['kind'],
  true
>);

const dateTime = { type: String, format: 'date-time' } as const;

/** A token's rate limit, as its view shows it. */
@ApiSchema({ name: 'TokenRateLimit', description: 'At most `limit` requests per `window` seconds.' })
class TokenRateLimitModel implements RateLimit {
  @ApiProperty({ type: 'integer', minimum: 1, description: 'Requests per window.', example: 100 })
  readonly limit!: number;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: 'The window, in seconds; it starts with its first request.',
    example: 60,
  })
  readonly window!: number;
}

/**
 * `AccessTokenView` as an OpenAPI model (schema `AccessTokenView`): what the token routes list
 * and answer, the usage policy and what is left of it included. Never the raw token.
 *
 * @example
 * @ApiOkResponse({ type: AccessTokenViewModel, isArray: true })
 * @Get('tokens')
 * list(@CurrentUser() user: User): Promise<AccessTokenView[]> {
 *   return this.tokens.list(user.id);
 * }
 */
@ApiSchema({
  name: 'AccessTokenView',
  description: 'A stored token as the module shows it: never the raw token, nor its hash.',
})
export class AccessTokenViewModel implements AccessTokenView {
  @ApiProperty({ type: String, description: "The token's id." })
  id!: string;

  @ApiProperty({
    enum: KINDS,
    description: "A personal token, a team's token (`team`), or the access token of a login session (`session`).",
  })
  kind!: AccessTokenView['kind'];

  @ApiProperty({ type: String, nullable: true, description: "Who made it, for a team's token: the member's user id." })
  createdBy!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The login session, for `kind: session`.' })
  sessionId!: string | null;

  @ApiProperty({ type: String, description: 'What its owner calls it.', example: 'CI on my laptop' })
  name!: string;

  @ApiProperty({ type: [String], description: 'The scopes it grants.', example: ['tokens:read'] })
  scopes!: string[];

  @ApiProperty({
    type: String,
    description: 'The start and the end of the token, enough to recognise it in a list.',
    example: 'nat_…x9Qz',
  })
  hint!: string;

  @ApiProperty({ ...dateTime, description: 'When it was issued.' })
  createdAt!: Date;

  @ApiProperty({ ...dateTime, nullable: true, description: 'When it expires; `null`: never.' })
  expiresAt!: Date | null;

  @ApiProperty({ ...dateTime, nullable: true, description: 'When a use was last recorded.' })
  lastUsedAt!: Date | null;

  @ApiProperty({ ...dateTime, nullable: true, description: 'When it was revoked.' })
  revokedAt!: Date | null;

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'What revoked it: `revoked_by_user`, `revoked_by_secret`, `password_changed`, `rotated`…',
  })
  revokedReason!: string | null;

  @ApiProperty({ type: Boolean, description: '`false` while paused: refused as `paused` until resumed.' })
  enabled!: boolean;

  @ApiProperty({ type: () => TokenRateLimitModel, nullable: true, description: 'Requests per window, or `null`.' })
  rateLimit!: RateLimit | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Requests it may make in all (per `usesPeriod`), or `null`.',
  })
  maxUses!: number | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'What is left of `maxUses` as of the read, or `null`.',
  })
  usesLeft!: number | null;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Seconds after which its uses are restored to `maxUses`, or `null`.',
  })
  usesPeriod!: number | null;

  @ApiProperty({
    ...dateTime,
    nullable: true,
    description: 'When its uses are next restored (at its first use from then on), or `null`.',
  })
  usesRenewAt!: Date | null;

  @ApiProperty({
    type: [String],
    nullable: true,
    description: 'The addresses and CIDR ranges it may be used from, or `null` for any.',
  })
  allowedIps!: string[] | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description: "The app's own data about the token, as given on issue or update; `null` for none.",
  })
  metadata!: AccessTokenView['metadata'];

  @ApiProperty({ type: String, nullable: true, description: 'The client address of the last recorded use.' })
  lastUsedIp!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'The `User-Agent` of the last recorded use, bounded.' })
  lastUsedUserAgent!: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', format: 'date-time' },
    description:
      'When each of its scopes last granted a request, by scope; a scope never exercised is absent. Accurate to `tokens.lastUsedIntervalSeconds`.',
  })
  scopesUsedAt!: Record<string, Date>;

  @ApiProperty({
    type: [String],
    description:
      'Its scopes not exercised lately (`tokens.unusedScopeSeconds`, default 90 days), or never: candidates to narrow it to.',
  })
  unusedScopes!: string[];

  @ApiProperty({
    type: Boolean,
    description: 'A canary: it never authenticates, and any use of it raises `canary_used`.',
  })
  canary!: boolean;
}

/**
 * What `POST {path}` and `POST {path}/:id/rotate` answer (schema `CreatedToken`): the token's view
 * and, this once, the raw token.
 *
 * @example
 * @ApiCreatedResponse({ type: CreatedTokenModel })
 */
@ApiSchema({
  name: 'CreatedToken',
  description: 'A token just made: its view, and the raw token, shown this once.',
})
export class CreatedTokenModel extends AccessTokenViewModel implements CreatedToken {
  @ApiProperty({ type: String, description: 'The raw token: shown here and never again.' })
  token!: string;
}

/**
 * What `POST {path}/generate` answers (schema `GeneratedToken`): the raw token, this once, and
 * what it may do until when.
 *
 * @example
 * @ApiCreatedResponse({ type: GeneratedTokenModel })
 */
@ApiSchema({
  name: 'GeneratedToken',
  description: 'A token just made: the raw token, shown this once, and its limits.',
})
export class GeneratedTokenModel implements GeneratedToken {
  @ApiProperty({ type: String, description: 'The raw token: shown here and never again.' })
  token!: string;

  @ApiProperty({ ...dateTime, nullable: true, description: 'When it expires; `null`: never.' })
  expires!: Date | null;

  @ApiProperty({ type: String, description: "The token's id." })
  id!: string;

  @ApiProperty({ type: String, description: 'What its owner calls it.' })
  name!: string;

  @ApiProperty({ type: [String], description: 'The scopes it grants.' })
  scopes!: string[];
}

/**
 * What `POST {sessionsPath}/refresh` answers (schema `TokenPair`): a login session's access and
 * refresh tokens, each shown this once.
 *
 * @example
 * @ApiOkResponse({ type: TokenPairModel })
 */
@ApiSchema({ name: 'TokenPair', description: "A login session's tokens, shown this once." })
export class TokenPairModel implements TokenPair {
  @ApiProperty({ type: String, description: 'Authenticates requests for `expiresIn` seconds.' })
  accessToken!: string;

  @ApiProperty({ type: String, description: 'Gets a new pair once; presented again, it ends its session.' })
  refreshToken!: string;

  @ApiProperty({ type: 'integer', description: 'Seconds the access token lasts.' })
  expiresIn!: number;
}

/** What `POST {sessionsPath}/login` answers: the pair, and who logged in. */
@ApiSchema({ name: 'LoginSession', description: "A new login session's tokens, shown this once, and its user." })
class LoginSessionModel extends TokenPairModel {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The user, as `routes.presentUser` shows it; by default its `id` and `username`.',
  })
  user!: unknown;
}

/** What `POST {path}/revoke` answers, whether the token existed or not. */
@ApiSchema({ name: 'RevocationNotice' })
class RevocationNoticeModel {
  @ApiProperty({
    type: String,
    description: 'The same sentence either way.',
    example: 'If this token was live, it is revoked now',
  })
  message!: string;
}

/** The model of each shape a ready-made route names (`@Answers()`). */
export const ROUTE_ANSWER_MODELS: Readonly<Record<RouteAnswerModel, Class>> = {
  AccessTokenView: AccessTokenViewModel,
  CreatedToken: CreatedTokenModel,
  GeneratedToken: GeneratedTokenModel,
  TokenPair: TokenPairModel,
  LoginSession: LoginSessionModel,
  RevocationNotice: RevocationNoticeModel,
};
