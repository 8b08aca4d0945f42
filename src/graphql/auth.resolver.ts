import { Context, Mutation, Resolver } from '@nestjs/graphql';
import {
  CurrentToken,
  CurrentUser,
  Public,
  type AuthenticatableRequest,
  type VerifiedAccessToken,
} from 'nestjs-access-tokens';
import { AuthService } from '../auth/auth.service.js';
import { User } from '../users/user.entity.js';
import { LoginArgs, RefreshArgs } from './auth.args.js';
import { SessionModel } from './session.model.js';
import { ValidArgs } from './valid-args.decorator.js';

/** The GraphQL context as the demo's drivers build it: Apollo's `{ req, res }`, Mercurius's `{ reply }`. */
interface GraphQLContext {
  req?: AuthenticatableRequest;
  reply?: { request?: AuthenticatableRequest };
}

/** Login sessions over GraphQL: `POST /auth/login`, `/auth/refresh` and `/auth/logout` as mutations. */
@Resolver()
export class AuthResolver {
  constructor(private readonly auth: AuthService) {}

  /** Throttled with `POST /auth/login`: a guess here counts against the same account, and the same client. */
  @Public()
  @Mutation(() => SessionModel, { description: 'A session for a user name and password' })
  login(@ValidArgs() args: LoginArgs, @Context() context: GraphQLContext): Promise<SessionModel> {
    return this.auth.login(args.username, args.password, context.req ?? context.reply?.request);
  }

  @Public()
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
