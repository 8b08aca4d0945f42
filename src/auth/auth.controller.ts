import { Controller, HttpCode, Post } from '@nestjs/common';
import { CurrentToken, CurrentUser, Public, type VerifiedAccessToken } from 'nestjs-access-tokens';
import type { User } from '../users/user.entity.js';
import { LoginDto, RefreshDto } from './auth.dto.js';
import { AuthService } from './auth.service.js';
import { CredentialAttempt } from './credential-attempt.decorator.js';
import { ValidBody } from '../validation.js';

/** Login sessions: an access token for `expiresIn` seconds and a one-time refresh token. */
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @CredentialAttempt('body')
  @HttpCode(200)
  @Post('login')
  login(@ValidBody() body: LoginDto) {
    return this.auth.login(body.username, body.password);
  }

  @Public()
  @CredentialAttempt('body')
  @HttpCode(200)
  @Post('refresh')
  refresh(@ValidBody() body: RefreshDto) {
    return this.auth.refresh(body.refreshToken);
  }

  /** Ends the session whose access token authenticates the request. */
  @HttpCode(204)
  @Post('logout')
  async logout(@CurrentUser() user: User, @CurrentToken() current: VerifiedAccessToken): Promise<void> {
    await this.auth.logout(user, current, 'DELETE /tokens/:id');
  }
}
