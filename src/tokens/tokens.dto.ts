import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  Length,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { IsAbsentOr, IsText } from '../validation.js';

/** Body of `POST /tokens/generate`: everything optional. */
export class GenerateTokenDto {
  @IsAbsentOr()
  @IsText()
  @Length(1, 100)
  name?: string;

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
}

/** Body of `POST /tokens`: a name is required. */
export class CreateTokenDto extends GenerateTokenDto {
  @IsText()
  @Length(1, 100)
  declare name: string;
}

/** Body of `PATCH /tokens/:id`. */
export class RenameTokenDto {
  @IsText()
  @Length(1, 100)
  name!: string;
}

/** Body of `POST /tokens/:id/rotate`. */
export class RotateTokenDto {
  /** Seconds the old token keeps working. */
  @IsAbsentOr()
  @IsInt()
  @Min(0)
  graceSeconds?: number;
}

/** Body of `POST /tokens/revoke`. */
export class RevokeTokenDto {
  @IsText()
  @IsNotEmpty()
  @MaxLength(1024)
  token!: string;
}

/** Query of `GET /tokens`: a page of the caller's tokens. */
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
