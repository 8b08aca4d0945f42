import { Body, Controller, HttpCode, Inject, Post, Req, UseFilters, UseGuards, type Type } from '@nestjs/common';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import type { AuthenticatableRequest, SessionTokens, UserId } from '../access-tokens.interfaces.js';
import { MissingCredentialsError, NotASessionError } from '../core/access-tokens.errors.js';
import { verifiedTokenOf } from '../edge/access-token.authenticator.js';
import { Public } from '../edge/access-tokens.decorators.js';
import { AccessTokensExceptionFilter } from '../edge/access-tokens.filter.js';
import { ScopesGuard } from '../edge/scopes.guard.js';
import { PasswordGrantService } from '../password/password-grant.service.js';
import { SessionsService } from '../sessions.service.js';
import type { LoginDto, RefreshDto } from './access-tokens-routes.dto.js';
import { AccessTokensRoutesGuard } from './access-tokens-routes.guard.js';
import type { ResolvedRoutesOptions } from './access-tokens-routes.options.js';
import { Answers } from './route-answer.decorator.js';
import { RoutesValidationPipe, type Validated } from './routes-validation.pipe.js';

/** What a client keeps of a session: the pair of tokens, and how long the access token lasts. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

const pair = ({ accessToken, refreshToken, expiresIn }: SessionTokens): TokenPair => ({
  accessToken,
  refreshToken,
  expiresIn,
});

/** A decorator that does nothing, for a route option that is off. */
const none: MethodDecorator = () => undefined;

/**
 * The login session routes of `forRoot({ routes })`, as a controller class of their own for each
 * call (see `tokenRoutesController`).
 */
export function sessionRoutesController(routes: ResolvedRoutesOptions & { sessionsPath: string }): Type<unknown> {
  const loginRoute = routes.password ? Post('login') : none;

  @UseFilters(AccessTokensExceptionFilter)
  @UseGuards(AccessTokensRoutesGuard, ScopesGuard)
  @Controller(routes.sessionsPath)
  class AccessTokensSessionsController {
    constructor(
      private readonly sessions: SessionsService,
      private readonly passwords: PasswordGrantService,
      @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
    ) {}

    /**
     * A session for a user name and password: an access token for `sessions.accessLifetimeSeconds`, a
     * refresh token, and who the user is. The attempt counts against the account as any other
     * password attempt does.
     */
    @Public()
    @HttpCode(200)
    @Answers('LoginSession')
    @loginRoute
    async login(
      @Req() request: AuthenticatableRequest,
      @Body(new RoutesValidationPipe('LoginDto')) body: Validated<LoginDto>,
    ): Promise<TokenPair & { user: unknown }> {
      const user = await this.passwords.authenticate(body.username, body.password, request);
      // The user as its password was checked: a change racing this login leaves the session unusable.
      return { ...pair(await this.sessions.start(user)), user: this.present(user) };
    }

    /** A new pair for a refresh token, which works once: presented again, it ends its session. */
    @Public()
    @HttpCode(200)
    @Answers('TokenPair')
    @Post('refresh')
    async refresh(@Body(new RoutesValidationPipe('RefreshDto')) body: Validated<RefreshDto>): Promise<TokenPair> {
      return pair(await this.sessions.refresh(body.refreshToken));
    }

    /** Ends the session whose access token authenticates the request. */
    @HttpCode(204)
    @Post('logout')
    async logout(@Req() request: AuthenticatableRequest): Promise<void> {
      const current = verifiedTokenOf(request);
      if (!current) throw new MissingCredentialsError();
      const { kind, sessionId } = current.accessToken;
      if (kind !== 'session' || sessionId === null) {
        throw new NotASessionError(
          `Log out with a session access token; revoke personal tokens with DELETE /${routes.path}/:id`,
        );
      }
      await this.sessions.end((current.user as Record<string, UserId>)[this.options.user.idField]!, sessionId);
    }

    private present(user: object): unknown {
      if (routes.presentUser) return routes.presentUser(user);
      const fields = user as Record<string, unknown>;
      return { id: fields[this.options.user.idField], username: fields[this.options.user.usernameField] };
    }
  }

  return AccessTokensSessionsController;
}
