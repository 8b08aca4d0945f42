import { IsByteLength, IsOptional, IsString, Matches, MinLength } from 'class-validator';

/** The rules of a user name. */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,64}$/;
const USERNAME_RULE = 'username must be 3 to 64 letters, digits, "_", "." or "-"';

/** Why a password is refused, or `null`. bcrypt reads only 72 bytes: a longer one would lose its tail. */
export function passwordProblem(password: string): string | null {
  if (password.length < 8) return 'password must be at least 8 characters';
  if (Buffer.byteLength(password) > 72) return 'password must be at most 72 bytes';
  return null;
}

export class CreateUserDto {
  @IsString()
  @Matches(USERNAME_PATTERN, { message: USERNAME_RULE })
  username!: string;

  @IsString()
  @MinLength(8, { message: 'password must be at least 8 characters' })
  @IsByteLength(0, 72, { message: 'password must be at most 72 bytes' })
  password!: string;
}

/** Body of `PATCH /users/me`: what to change, and the current password to allow it. */
export class UpdateMeDto {
  @IsOptional()
  @IsString()
  @Matches(USERNAME_PATTERN, { message: USERNAME_RULE })
  username?: string;

  @IsOptional()
  @IsString()
  @MinLength(8, { message: 'password must be at least 8 characters' })
  @IsByteLength(0, 72, { message: 'password must be at most 72 bytes' })
  password?: string;

  @IsString()
  currentPassword!: string;
}
