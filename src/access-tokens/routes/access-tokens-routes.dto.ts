import * as classTransformer from 'class-transformer';
import { Type } from 'class-transformer';
import * as classValidator from 'class-validator';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
  IsObject,
  type ValidationArguments,
  type ValidationOptions,
} from 'class-validator';
import type { TokenMetadata } from '../storage/access-token.entity.js';
import { isPrintableText } from '../core/text.js';

/*
 * The bodies and query of the ready-made routes, validated with class-validator. Loaded only when
 * the app asks for the routes (class-validator and class-transformer are optional peers): the
 * routes' pipe imports this module on first need, and the module checks at start-up that it loads.
 */

/** The packages the DTOs are declared with, for the pipe to validate with the same copies. */
export const validatorPackage = classValidator;
export const transformerPackage = classTransformer;

/** A string with nothing a database or bcrypt would fail on: no control characters, no lone surrogates. */
const IsText = (options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    {
      name: 'isText',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && isPrintableText(value),
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property ?? 'value'} must be text without control characters or lone surrogates`,
      },
    },
    options,
  );

/** Like `@IsOptional()`, but `null` is validated (and refused) rather than let through. */
const IsAbsentOr = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);

/**
 * A nested DTO that may be `null`: checked as an object of `type` (`@Type` converts it for
 * `@ValidateNested`). TypeScript records `RateLimitDto | null` as `Object` in `design:type`, so the
 * class is recorded there as for a property of that type alone: what OpenAPI documents of the
 * property (`nestjs-access-tokens/swagger` reads `design:type`), `@IsOptional()` saying `null` is allowed.
 */
const NullableNested =
  (type: () => new () => object): PropertyDecorator =>
  (target, property) => {
    IsObject()(target, property);
    ValidateNested()(target, property);
    Type(type)(target, property);
    Reflect.defineMetadata('design:type', type(), target, property);
  };

/** A token's rate limit: `limit` requests per `window` seconds. */
export class RateLimitDto {
  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  limit!: number;

  /** Seconds, up to a year. */
  @IsInt()
  @Min(1)
  @Max(31_536_000)
  window!: number;
}

/**
 * A token's usage policy, in the bodies that issue or change one: each part optional, `null` for
 * none. The module checks the addresses themselves (`InvalidUsagePolicyError`, 400, naming the one
 * that is not).
 */
export class TokenPolicyDto {
  @IsOptional()
  @NullableNested(() => RateLimitDto)
  rateLimit?: RateLimitDto | null;

  /** Requests in all, from 1. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  maxUses?: number | null;

  /** Seconds after which the uses are restored to `maxUses`; needs `maxUses`. */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(31_536_000)
  usesPeriod?: number | null;

  /** Addresses and CIDR ranges, IPv4 or IPv6: `["203.0.113.0/24", "2001:db8::/32"]`. */
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsText({ each: true })
  @MaxLength(64, { each: true })
  allowedIps?: string[] | null;
}

/** Body of `POST {path}/generate`: everything optional. */
export class GenerateTokenDto extends TokenPolicyDto {
  /** What the user calls it; default "Generated on <date>". */
  @IsAbsentOr()
  @IsText()
  @Length(1, 100)
  name?: string;

  /** Default: the presenting token's scopes, or `*` for a password. */
  @IsAbsentOr()
  @IsArray()
  @ArrayMaxSize(50)
  @IsText({ each: true })
  scopes?: string[];

  /** Seconds; `null` asks for no expiry, which only an app without `tokens.maxLifetimeSeconds` grants. */
  @IsOptional()
  @IsInt()
  @Min(1)
  expiresIn?: number | null;

  /**
   * The app's own data about the token: a JSON object of at most 4096 bytes, nested at most 5
   * deep, keys of 1 to 64 printable characters (the module checks it: 400 `invalid_metadata`
   * naming the value at fault).
   */
  @IsOptional()
  @IsObject()
  metadata?: TokenMetadata | null;
}

/** Body of `POST {path}`: a name is required. */
export class CreateTokenDto extends GenerateTokenDto {
  @IsText()
  @Length(1, 100)
  declare name: string;

  /** `true` issues a canary: it never authenticates, and any use of it raises `canary_used`. */
  @IsAbsentOr()
  @IsBoolean()
  canary?: boolean;
}

/** Body of `PATCH {path}/:id`: a new name, a usage policy, or `enabled` to pause or resume; each optional. */
export class UpdateTokenDto extends TokenPolicyDto {
  @IsAbsentOr()
  @IsText()
  @Length(1, 100)
  name?: string;

  /** `false` pauses the token, `true` resumes it. */
  @IsAbsentOr()
  @IsBoolean()
  enabled?: boolean;

  /** New metadata, replacing the old whole (as for `POST {path}`); `null` removes it. */
  @IsOptional()
  @IsObject()
  metadata?: TokenMetadata | null;

  /** Fewer scopes, each covered by the token's own: never more than it has (`unusedScopes` suggests which). */
  @IsAbsentOr()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  @IsText({ each: true })
  scopes?: string[];
}

/** Body of `POST {path}/:id/rotate`. */
export class RotateTokenDto {
  /** Seconds the old token keeps working; default 0. */
  @IsAbsentOr()
  @IsInt()
  @Min(0)
  graceSeconds?: number;
}

/** Body of `POST {path}/revoke`. */
export class RevokeTokenDto {
  @IsText()
  @IsNotEmpty()
  @MaxLength(1024)
  token!: string;
}

/** Query of `GET {path}`: a page of the caller's tokens. */
export class ListTokensQueryDto {
  /** 1 to 100; default 50. */
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  /** From the `Link: <…>; rel="next"` header of the previous page. */
  @IsOptional()
  @IsText()
  @MaxLength(80)
  cursor?: string;

  /** `live`: only tokens that work now; `all` (default): revoked and expired ones too. */
  @IsOptional()
  @IsIn(['live', 'all'])
  status?: 'live' | 'all';
}

/** Body of `POST {sessionsPath}/login`. */
export class LoginDto {
  @IsText()
  @Length(1, 256)
  username!: string;

  @IsText()
  @Length(1, 1024)
  password!: string;
}

/** Body of `POST {sessionsPath}/refresh`. */
export class RefreshDto {
  @IsText()
  @IsNotEmpty()
  @MaxLength(200)
  refreshToken!: string;
}
