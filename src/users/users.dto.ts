import { IsByteLength, IsString, Matches, MinLength } from 'class-validator';

export class CreateUserDto {
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{3,64}$/, { message: 'username must be 3 to 64 letters, digits, "_", "." or "-"' })
  username!: string;

  @IsString()
  @MinLength(8, { message: 'password must be at least 8 characters' })
  // bcrypt reads only the first 72 bytes: a longer password would silently lose its tail.
  @IsByteLength(0, 72, { message: 'password must be at most 72 bytes' })
  password!: string;
}
