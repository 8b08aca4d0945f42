import { ArgsType, Field, InputType, Int } from '@nestjs/graphql';
import { IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { RateLimitDto, UpdateTokenDto } from 'nestjs-access-tokens/routes';

/** `rateLimit: { limit, window }`: the rules of the REST bodies' `rateLimit`. */
@InputType('RateLimitInput')
export class RateLimitInput extends RateLimitDto {
  @Field(() => Int, { description: 'Requests per window, 1 to 1,000,000,000' })
  declare limit: number;

  @Field(() => Int, { description: 'The window in seconds, 1 to 31,536,000 (a year)' })
  declare window: number;
}

/*
 * The usage policy's arguments, the same on createToken and updateToken. Each args class declares
 * them itself: it extends its REST DTO for the rules, and GraphQL fields are not shared between
 * sibling classes.
 */
export const RATE_LIMIT = { nullable: true, description: 'Requests per window; null for none' } as const;
export const MAX_USES = { nullable: true, description: 'Requests in all, from 1; null for no quota' } as const;
export const USES_PERIOD = {
  nullable: true,
  description: 'Seconds after which the uses are restored to maxUses; needs maxUses',
} as const;
export const ALLOWED_IPS = {
  nullable: true,
  description: 'IPv4 or IPv6 addresses and CIDR ranges it works from, 1 to 100; null for any',
} as const;

/**
 * The token's metadata as the text of a JSON object: the demo's schema has no JSON scalar. Bounded
 * here only so that no huge text is parsed; the module checks the object (4096 bytes, 5 deep).
 */
export const METADATA_JSON = {
  nullable: true,
  description: 'The token\'s metadata, as the text of a JSON object: \'{"team":"billing"}\'',
} as const;
export const MAX_METADATA_JSON = 16_384;

/**
 * `updateToken(id, name, enabled, rateLimit, maxUses, usesPeriod, allowedIps)`: the rules of
 * `PATCH /tokens/:id`'s body. What is left out stays as it was; `null` removes a part of the policy.
 */
@ArgsType()
export class UpdateTokenArgs extends UpdateTokenDto {
  /** A token id is a UUID: anything else is a bad request, where an unknown one is not found. */
  @Field(() => String)
  @IsUUID()
  id!: string;

  @Field(() => String, { nullable: true, description: 'A new name, 1 to 100 characters' })
  declare name?: string;

  @Field(() => Boolean, { nullable: true, description: 'false pauses the token, true resumes it' })
  declare enabled?: boolean;

  @Field(() => RateLimitInput, RATE_LIMIT)
  declare rateLimit?: RateLimitInput | null;

  @Field(() => Int, MAX_USES)
  declare maxUses?: number | null;

  @Field(() => Int, USES_PERIOD)
  declare usesPeriod?: number | null;

  @Field(() => [String], ALLOWED_IPS)
  declare allowedIps?: string[] | null;

  /** New metadata replacing the old, as JSON text; `null` removes it. */
  @Field(() => String, METADATA_JSON)
  @IsOptional()
  @IsString()
  @MaxLength(MAX_METADATA_JSON)
  metadataJson?: string | null;
}
