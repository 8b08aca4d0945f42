import { Field, GraphQLISODateTime, Int, ObjectType } from '@nestjs/graphql';
import type { TokenMetadata } from 'nestjs-access-tokens';

/** A token's rate limit, as `GET /tokens` shows it. */
@ObjectType('RateLimit')
export class RateLimitModel {
  @Field(() => Int, { description: 'Requests per window' })
  limit!: number;

  @Field(() => Int, { description: 'The window, in seconds' })
  window!: number;
}

/** One of the caller's tokens, as `GET /tokens` lists it: never the raw token, never its hash. */
@ObjectType('AccessToken')
export class AccessTokenModel {
  @Field(() => String)
  id!: string;

  @Field(() => String, { description: 'personal, team (owned by a team), or session (the access token of a login)' })
  kind!: 'personal' | 'team' | 'session';

  @Field(() => String, { nullable: true, description: 'The login session, for kind session' })
  sessionId!: string | null;

  @Field(() => String)
  name!: string;

  @Field(() => [String])
  scopes!: string[];

  @Field(() => String, { description: 'Enough of the token to recognise it: nat_…x9Qz' })
  hint!: string;

  @Field(() => GraphQLISODateTime)
  createdAt!: Date;

  @Field(() => GraphQLISODateTime, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => GraphQLISODateTime, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'The client address of the last recorded use' })
  lastUsedIp!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The User-Agent of the last recorded use, at most 255 characters',
  })
  lastUsedUserAgent!: string | null;

  @Field(() => [String], {
    description: 'Its scopes no request exercised in the last tokens.unusedScopeSeconds (default 90 days), or never',
  })
  unusedScopes!: string[];

  @Field(() => GraphQLISODateTime, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'What revoked it: revoked_by_user, password_changed, …' })
  revokedReason!: string | null;

  @Field(() => Boolean, { description: 'false while paused: refused (reason paused) until resumed' })
  enabled!: boolean;

  @Field(() => RateLimitModel, { nullable: true, description: 'null for no rate limit' })
  rateLimit!: RateLimitModel | null;

  @Field(() => Int, { nullable: true, description: 'Requests it may make in all; null for no quota' })
  maxUses!: number | null;

  @Field(() => Int, { nullable: true, description: 'Of maxUses, those left; null for no quota' })
  usesLeft!: number | null;

  @Field(() => Int, { nullable: true, description: 'Seconds after which the uses are restored to maxUses' })
  usesPeriod!: number | null;

  @Field(() => GraphQLISODateTime, { nullable: true, description: 'When the uses are next restored' })
  usesRenewAt!: Date | null;

  @Field(() => [String], { nullable: true, description: 'Addresses and CIDR ranges it works from; null for any' })
  allowedIps!: string[] | null;

  @Field(() => Boolean, { description: 'A canary: it never authenticates, and any use of it raises an alert' })
  canary!: boolean;

  /** The view's metadata, which `metadataJson` shows as text. */
  metadata!: TokenMetadata | null;
}

/** A token just created: the raw token is shown here and never again. */
@ObjectType('CreatedToken')
export class CreatedTokenModel {
  @Field(() => String, { description: 'The raw token, shown this once' })
  token!: string;

  @Field(() => String)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => [String])
  scopes!: string[];

  @Field(() => GraphQLISODateTime, { nullable: true, description: 'null for a token that never expires' })
  expires!: Date | null;

  @Field(() => AccessTokenModel, { description: 'The token as the list shows it, its usage policy included' })
  accessToken!: AccessTokenModel;
}
