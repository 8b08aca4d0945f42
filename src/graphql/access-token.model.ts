import { Field, GraphQLISODateTime, ObjectType } from '@nestjs/graphql';

/** One of the caller's tokens, as `GET /tokens` lists it: never the raw token, never its hash. */
@ObjectType('AccessToken')
export class AccessTokenModel {
  @Field(() => String)
  id!: string;

  @Field(() => String, { description: 'personal, or session (the access token of a login)' })
  kind!: 'personal' | 'session';

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

  @Field(() => GraphQLISODateTime, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => String, { nullable: true, description: 'What revoked it: revoked_by_user, password_changed, …' })
  revokedReason!: string | null;
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
}
