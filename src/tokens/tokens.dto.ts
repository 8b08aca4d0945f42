import { ArrayMaxSize, IsArray, IsInt, IsNotEmpty, IsOptional, IsString, Length, MaxLength, Min } from 'class-validator';

/** Body of `POST /tokens/generate`: everything optional. */
export class GenerateTokenDto {
  @IsOptional()
  @IsString()
  @Length(1, 100)
  name?: string;

  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsString({ each: true })
  scopes?: string[];

  /** Seconds; `null` asks for no expiry, which only an app without `maxExpiresIn` grants. */
  @IsOptional()
  @IsInt()
  @Min(1)
  expiresIn?: number | null;
}

/** Body of `POST /tokens`: a name is required. */
export class CreateTokenDto extends GenerateTokenDto {
  @IsString()
  @Length(1, 100)
  declare name: string;
}

/** Body of `PATCH /tokens/:id`. */
export class RenameTokenDto {
  @IsString()
  @Length(1, 100)
  name!: string;
}

/** Body of `POST /tokens/:id/rotate`. */
export class RotateTokenDto {
  /** Seconds the old token keeps working. */
  @IsOptional()
  @IsInt()
  @Min(0)
  graceSeconds?: number;
}

/** Body of `POST /tokens/revoke`. */
export class RevokeTokenDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  token!: string;
}
