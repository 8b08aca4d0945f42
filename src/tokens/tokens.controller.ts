import { Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res, UseGuards } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  CurrentToken,
  CurrentUser,
  Public,
  Scopes,
  TokensService,
  type VerifiedAccessToken,
} from 'nestjs-access-tokens';
import type { User } from '../users/user.entity.js';
import { createdToken } from './created-token.js';
import { TokenOrPasswordGuard } from './token-or-password.guard.js';
import { CreateTokenDto, GenerateTokenDto, ListTokensQueryDto, RenameTokenDto, RevokeTokenDto, RotateTokenDto } from './tokens.dto.js';
import { CredentialAttempt } from '../auth/credential-attempt.decorator.js';
import { bodyValidation, ValidBody } from '../validation.js';

@Controller('tokens')
export class TokensController {
  constructor(
    private readonly tokens: TokensService,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /**
   * Issues a token to a caller authenticated by password (Basic) or by a valid token; a token can
   * only create tokens within its own scopes.
   */
  @Public()
  @CredentialAttempt('basic')
  @UseGuards(TokenOrPasswordGuard)
  @Post('generate')
  async generate(
    @CurrentUser() user: User,
    @CurrentToken() current: VerifiedAccessToken | undefined,
    @ValidBody() body: GenerateTokenDto,
  ) {
    // The user as its password (or token) was checked: a change racing this leaves the token unusable.
    const issued = await this.tokens.issue(
      user,
      { name: body.name ?? `Generated on ${new Date().toISOString().slice(0, 10)}`, scopes: body.scopes, expiresIn: body.expiresIn },
      { within: current?.accessToken.scopes },
    );
    return createdToken(issued);
  }

  /** Revokes a token by its value, whoever owns it; answers the same whether it existed or not. */
  @Public()
  @HttpCode(200)
  @Post('revoke')
  async revokeBySecret(@ValidBody() body: RevokeTokenDto) {
    await this.tokens.revokeBySecret(body.token);
    return { message: 'If this token was live, it is revoked now' };
  }

  /**
   * A page of the caller's tokens, newest first; `Link: <…>; rel="next"` (RFC 8288, as GitHub's
   * API pages) when there are more.
   */
  @Scopes('tokens:read')
  @Get()
  async list(
    @CurrentUser() user: User,
    @Query(bodyValidation) query: ListTokensQueryDto,
    // Whichever server's response it is (Express's, or Fastify's reply): the adapter sets the header.
    @Res({ passthrough: true }) response: unknown,
  ) {
    const { tokens, nextCursor } = await this.tokens.page(user.id, query);
    if (nextCursor !== null) {
      const next = new URLSearchParams({ ...(query.limit ? { limit: String(query.limit) } : {}), ...(query.status ? { status: query.status } : {}), cursor: nextCursor });
      this.adapterHost.httpAdapter.setHeader(response, 'Link', `</tokens?${next.toString()}>; rel="next"`);
    }
    return tokens;
  }

  @Scopes('tokens:write')
  @Post()
  async create(@CurrentUser() user: User, @CurrentToken() current: VerifiedAccessToken, @ValidBody() body: CreateTokenDto) {
    const { token, accessToken } = await this.tokens.issue(
      user.id,
      { name: body.name, scopes: body.scopes, expiresIn: body.expiresIn },
      { within: current.accessToken.scopes },
    );
    return { token, ...accessToken };
  }

  @Scopes('tokens:write')
  @Patch(':id')
  rename(@CurrentUser() user: User, @Param('id') id: string, @ValidBody() body: RenameTokenDto) {
    return this.tokens.rename(user.id, id, body.name);
  }

  /** A new token in place of the old one, which keeps working for `graceSeconds`. */
  @Scopes('tokens:write')
  @Post(':id/rotate')
  async rotate(
    @CurrentUser() user: User,
    @CurrentToken() current: VerifiedAccessToken,
    @Param('id') id: string,
    @ValidBody() body: RotateTokenDto,
  ) {
    const { token, accessToken } = await this.tokens.rotate(user.id, id, { graceSeconds: body.graceSeconds }, { within: current.accessToken.scopes });
    return { token, ...accessToken };
  }

  @Scopes('tokens:write')
  @HttpCode(204)
  @Delete(':id')
  async revoke(@CurrentUser() user: User, @Param('id') id: string): Promise<void> {
    await this.tokens.revoke(user.id, id);
  }

  @Scopes('tokens:write')
  @HttpCode(204)
  @Delete()
  async revokeAll(@CurrentUser() user: User): Promise<void> {
    await this.tokens.revokeAll(user.id);
  }
}
