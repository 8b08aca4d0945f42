import { Mutation, Resolver } from '@nestjs/graphql';
import { CurrentToken, CurrentUser, Public, type VerifiedAccessToken } from 'nestjs-access-tokens';
import { AuthService } from '../auth/auth.service.js';
import { CredentialAttempt } from '../auth/credential-attempt.decorator.js';
import type { User } from '../users/user.entity.js';
import { LoginArgs, RefreshArgs } from './auth.args.js';
import { SessionModel } from './session.model.js';
import { ValidArgs } from './valid-args.decorator.js';

/** Login sessions over GraphQL: `POST /auth/login`, `/auth/refresh` and `/auth/logout` as mutations. */
@Resolver()
export class AuthResolver {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @CredentialAttempt('args')
  @Mutation(() => SessionModel, { description: 'A session for a user name and password' })
  login(@ValidArgs() args: LoginArgs): Promise<SessionModel> {
    return this.auth.login(args.username, args.password);
  }

  @Public()
  @CredentialAttempt('args')
  @Mutation(() => SessionModel, { description: 'A new pair for a refresh token, which works once' })
  refresh(@ValidArgs() args: RefreshArgs): Promise<SessionModel> {
    return this.auth.refresh(args.refreshToken);
  }

  @Mutation(() => Boolean, { description: "Ends the session of the request's access token" })
  async logout(@CurrentUser() user: User, @CurrentToken() current: VerifiedAccessToken): Promise<boolean> {
    await this.auth.logout(user, current, 'the revokeToken mutation');
    return true;
  }
}
