import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import type {
  AccessTokenView,
  AuthenticatableRequest,
  UserId,
  VerifiedAccessToken,
} from '../access-tokens.interfaces.js';
import { MissingCredentialsError } from '../core/access-tokens.errors.js';
import { authenticatedUserOf, verifiedTokenOf } from '../edge/access-token.authenticator.js';
import { Public } from '../edge/access-tokens.decorators.js';
import { AccessTokensExceptionFilter } from '../edge/access-tokens.filter.js';
import { AllowPassword } from '../edge/allow-password.decorator.js';
import { Scopes } from '../edge/scopes.decorator.js';
import { ScopesGuard } from '../edge/scopes.guard.js';
import { TokensService } from '../tokens.service.js';
import type {
  CreateTokenDto,
  GenerateTokenDto,
  ListTokensQueryDto,
  UpdateTokenDto,
  RevokeTokenDto,
  RotateTokenDto,
} from './access-tokens-routes.dto.js';
import { AccessTokensRoutesGuard } from './access-tokens-routes.guard.js';
import type { ResolvedRoutesOptions } from './access-tokens-routes.options.js';
import { Answers } from './route-answer.decorator.js';
import { RoutesValidationPipe, type Validated } from './routes-validation.pipe.js';

/** What `POST {path}/generate` answers: the raw token, this once, and what it may do until when. */
export interface GeneratedToken {
  token: string;
  /** `null` for a token that never expires. */
  expires: Date | null;
  id: string;
  name: string;
  scopes: string[];
}

/** What creating and rotating answer: the raw token, this once, beside the token's view. */
export type CreatedToken = AccessTokenView & { token: string };

/** A decorator that does nothing, for a route option that is off. */
const none: MethodDecorator = () => undefined;

/** `@Scopes(scope)`, or nothing when the option asks for no scope. */
const scoped = (scope: string | null): MethodDecorator => (scope === null ? none : Scopes(scope));

/** The user this module authenticated (by token or password); a 401 otherwise, whatever another guard let through. */
export function principalOf(request: AuthenticatableRequest): object {
  const user = authenticatedUserOf(request);
  if (!user) throw new MissingCredentialsError();
  return user;
}

/**
 * The token routes of `forRoot({ routes })`, as a controller class of their own for each call, so
 * that the path and scopes one app chooses are metadata of its class alone (two apps in one
 * process, each with its own, do not meet).
 */
export function tokenRoutesController(routes: ResolvedRoutesOptions): Type<unknown> {
  const generateRoute = routes.password ? AllowPassword() : none;

  // The module's filter on its own routes, so that they answer its errors as 4xx with `exceptionFilter: false` too.
  @UseFilters(AccessTokensExceptionFilter)
  @UseGuards(AccessTokensRoutesGuard, ScopesGuard)
  @Controller(routes.path)
  class AccessTokensController {
    constructor(
      private readonly tokens: TokensService,
      private readonly adapterHost: HttpAdapterHost,
      @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
    ) {}

    /**
     * Issues a token to a caller authenticated by password (HTTP Basic) or by a token; a token
     * only ever makes tokens within its own scopes, which are also the default.
     */
    @generateRoute
    @Answers('GeneratedToken')
    @Post('generate')
    async generate(
      @Req() request: AuthenticatableRequest,
      @Body(new RoutesValidationPipe('GenerateTokenDto')) body: Validated<GenerateTokenDto>,
    ): Promise<GeneratedToken> {
      // The user as its password (or token) was checked: a change racing this leaves the token unusable.
      const user = principalOf(request);
      const { token, accessToken } = await this.tokens.issue(
        user,
        {
          // The body holds what issue() takes, and nothing else (the pipe refuses any other property).
          ...body,
          name: body.name ?? `Generated on ${this.options.clock.now().toISOString().slice(0, 10)}`,
        },
        { within: verifiedTokenOf(request)?.accessToken.scopes },
      );
      const { id, name, scopes, expiresAt } = accessToken;
      return { token, expires: expiresAt, id, name, scopes };
    }

    /** Revokes a token by its value, whoever owns it: for whoever finds a leaked one. Answers the same whether it existed or not. */
    @Public()
    @HttpCode(200)
    @Answers('RevocationNotice')
    @Post('revoke')
    async revokeBySecret(
      @Body(new RoutesValidationPipe('RevokeTokenDto')) body: Validated<RevokeTokenDto>,
    ): Promise<{ message: string }> {
      await this.tokens.revokeBySecret(body.token);
      return { message: 'If this token was live, it is revoked now' };
    }

    /**
     * A page of the caller's tokens, newest first; `Link: <…>; rel="next"` (RFC 8288, as GitHub's
     * API pages) while there are more.
     */
    @scoped(routes.scopes.read)
    @Answers('AccessTokenView', { array: true })
    @Get()
    async list(
      @Req() request: AuthenticatableRequest & { originalUrl?: string; url?: string },
      @Query(new RoutesValidationPipe('ListTokensQueryDto')) query: Validated<ListTokensQueryDto>,
      // Whichever server's response it is (Express's, or Fastify's reply): the adapter sets the header.
      @Res({ passthrough: true }) response: unknown,
    ): Promise<AccessTokenView[]> {
      const { tokens, nextCursor } = await this.tokens.page(this.ownerOf(request), query);
      if (nextCursor !== null) {
        const next = new URLSearchParams({
          ...(query.limit ? { limit: String(query.limit) } : {}),
          ...(query.status ? { status: query.status } : {}),
          cursor: nextCursor,
        });
        // The path as the client asked for it, under whatever prefix the app mounts the routes.
        const path = (request.originalUrl ?? request.url ?? `/${routes.path}`).split('?')[0];
        this.adapterHost.httpAdapter.setHeader(response, 'Link', `<${path}?${next.toString()}>; rel="next"`);
      }
      return tokens;
    }

    /** A named token, within the scopes of the token that asks. */
    @scoped(routes.scopes.write)
    @Answers('CreatedToken')
    @Post()
    async create(
      @Req() request: AuthenticatableRequest,
      @Body(new RoutesValidationPipe('CreateTokenDto')) body: Validated<CreateTokenDto>,
    ): Promise<CreatedToken> {
      const { token, accessToken } = await this.tokens.issue(this.ownerOf(request), body, {
        within: this.currentOf(request).accessToken.scopes,
      });
      return { token, ...accessToken };
    }

    /** Renames a token, changes its usage policy, or pauses (`enabled: false`) or resumes it. */
    @scoped(routes.scopes.write)
    @Answers('AccessTokenView')
    @Patch(':id')
    update(
      @Req() request: AuthenticatableRequest,
      @Param('id') id: string,
      @Body(new RoutesValidationPipe('UpdateTokenDto')) body: Validated<UpdateTokenDto>,
    ): Promise<AccessTokenView> {
      return this.tokens.update(this.ownerOf(request), id, body);
    }

    /** A new token in place of the old one, which keeps working for `graceSeconds`. */
    @scoped(routes.scopes.write)
    @Answers('CreatedToken')
    @Post(':id/rotate')
    async rotate(
      @Req() request: AuthenticatableRequest,
      @Param('id') id: string,
      @Body(new RoutesValidationPipe('RotateTokenDto')) body: Validated<RotateTokenDto>,
    ): Promise<CreatedToken> {
      const { token, accessToken } = await this.tokens.rotate(
        this.ownerOf(request),
        id,
        { graceSeconds: body.graceSeconds },
        { within: this.currentOf(request).accessToken.scopes },
      );
      return { token, ...accessToken };
    }

    @scoped(routes.scopes.write)
    @HttpCode(204)
    @Delete(':id')
    async revoke(@Req() request: AuthenticatableRequest, @Param('id') id: string): Promise<void> {
      await this.tokens.revoke(this.ownerOf(request), id);
    }

    @scoped(routes.scopes.write)
    @HttpCode(204)
    @Delete()
    async revokeAll(@Req() request: AuthenticatableRequest): Promise<void> {
      await this.tokens.revokeAll(this.ownerOf(request));
    }

    /** The id of the user a token authenticated, as the user entity has it. */
    private ownerOf(request: AuthenticatableRequest): UserId {
      return (this.currentOf(request).user as Record<string, UserId>)[this.options.user.idField]!;
    }

    /** The token that authenticated the request: these routes take no password. */
    private currentOf(request: AuthenticatableRequest): VerifiedAccessToken {
      const current = verifiedTokenOf(request);
      if (!current) throw new MissingCredentialsError();
      return current;
    }
  }

  return AccessTokensController;
}
