import { MaxLength } from 'class-validator';
import { IsText } from '../validation.js';

export class LoginDto {
  @IsText()
  @MaxLength(64)
  username!: string;

  @IsText()
  @MaxLength(200)
  password!: string;
}

export class RefreshDto {
  @IsText()
  @MaxLength(200)
  refreshToken!: string;
}
