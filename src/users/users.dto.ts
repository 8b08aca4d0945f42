import { IsString, Matches, MinLength } from 'class-validator';
import { IsAbsentOr, IsText, MaxBytes } from '../validation.js';

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

  @IsText()
  @MinLength(8, { message: 'password must be at least 8 characters' })
  @MaxBytes(72)
  password!: string;
}

/** Body of `PATCH /users/me`: what to change, and the current password to allow it. */
export class UpdateMeDto {
  @IsAbsentOr()
  @IsString()
  @Matches(USERNAME_PATTERN, { message: USERNAME_RULE })
  username?: string;

  @IsAbsentOr()
  @IsText()
  @MinLength(8, { message: 'password must be at least 8 characters' })
  @MaxBytes(72)
  password?: string;

  @IsText()
  @MaxBytes(72)
  currentPassword!: string;
}
