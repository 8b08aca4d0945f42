import { BadRequestException, Controller, HttpCode, Post } from '@nestjs/common';
import {
  CurrentToken,
  CurrentUser,
  Public,
  SessionsService,
  type SessionTokens,
  type VerifiedAccessToken,
} from 'nestjs-access-tokens';
import { User, publicUser } from '../users/user.entity.js';
import { UsersService } from '../users/users.service.js';
import { LoginDto, RefreshDto } from './auth.dto.js';
import { CredentialAttempt } from './credential-attempt.decorator.js';
import { ValidBody } from '../validation.js';

const pair = ({ accessToken, refreshToken, expiresIn }: SessionTokens) => ({ accessToken, refreshToken, expiresIn });

/** Login sessions: an access token for `expiresIn` seconds and a one-time refresh token. */
@Controller('auth')
export class AuthController {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
  ) {}

  @Public()
  @CredentialAttempt('body')
  @HttpCode(200)
  @Post('login')
  async login(@ValidBody() body: LoginDto) {
    const user = await this.users.checkPassword(body.username, body.password);
    // The user as its password was checked: a change racing this login leaves the session unusable.
    return { ...pair(await this.sessions.start(user)), user: publicUser(user) };
  }

  @Public()
  @CredentialAttempt('body')
  @HttpCode(200)
  @Post('refresh')
  async refresh(@ValidBody() body: RefreshDto) {
    return pair(await this.sessions.refresh(body.refreshToken));
  }

  /** Ends the session whose access token authenticates the request. */
  @HttpCode(204)
  @Post('logout')
  async logout(@CurrentUser() user: User, @CurrentToken() current: VerifiedAccessToken): Promise<void> {
    const { kind, sessionId } = current.accessToken;
    if (kind !== 'session' || sessionId === null) {
      throw new BadRequestException('Log out with a session access token; revoke personal tokens with DELETE /tokens/:id');
    }
    await this.sessions.end(user.id, sessionId);
  }
}
