import { ArgsType, Field, Int } from '@nestjs/graphql';
import { IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { CreateTokenDto, ListTokensQueryDto } from 'nestjs-access-tokens/routes';
import {
  ALLOWED_IPS,
  MAX_METADATA_JSON,
  MAX_USES,
  METADATA_JSON,
  RATE_LIMIT,
  RateLimitInput,
  USES_PERIOD,
} from './token-policy.args.js';

/** `tokens(limit, status)`: the first page of `GET /tokens`, by its rules. */
@ArgsType()
export class TokensArgs extends ListTokensQueryDto {
  @Field(() => Int, { nullable: true, description: '1 to 100; default 50' })
  declare limit?: number;

  @Field(() => String, {
    nullable: true,
    description: 'live: only tokens that work now; all (default): revoked and expired ones too',
  })
  declare status?: 'live' | 'all';
}

/** `createToken(name, scopes, expiresIn)`: the rules of `POST /tokens`'s body. */
@ArgsType()
export class CreateTokenArgs extends CreateTokenDto {
  @Field(() => String, { description: '1 to 100 characters' })
  declare name: string;

  @Field(() => [String], { description: 'Within the scopes of the token that asks' })
  declare scopes: string[];

  @Field(() => Int, { nullable: true, description: 'Seconds; default 30 days' })
  declare expiresIn?: number | null;

  // And its usage policy, each part optional, as that body takes it.

  @Field(() => RateLimitInput, RATE_LIMIT)
  declare rateLimit?: RateLimitInput | null;

  @Field(() => Int, MAX_USES)
  declare maxUses?: number | null;

  @Field(() => Int, USES_PERIOD)
  declare usesPeriod?: number | null;

  @Field(() => [String], ALLOWED_IPS)
  declare allowedIps?: string[] | null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'true issues a canary: it never authenticates, and any use of it raises an alert',
  })
  declare canary?: boolean;

  @Field(() => String, METADATA_JSON)
  @IsOptional()
  @IsString()
  @MaxLength(MAX_METADATA_JSON)
  metadataJson?: string | null;
}

/** `revokeToken(id)`. */
@ArgsType()
export class RevokeTokenArgs {
  /** A token id is a UUID: anything else is a bad request, where an unknown one is not found. */
  @Field(() => String)
  @IsUUID()
  id!: string;
}
