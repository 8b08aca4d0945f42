import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  UnauthorizedException,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CurrentToken, CurrentUser, Public, TokensService, type VerifiedAccessToken } from 'nestjs-access-tokens';
import type { Repository } from 'typeorm';
import { verifyPassword } from './password.js';
import { User } from './user.entity.js';

interface TokenBody {
  name?: unknown;
  scopes?: unknown;
  expiresIn?: unknown;
}

interface LoginBody extends TokenBody {
  email?: unknown;
  password?: unknown;
}

/** The token fields as they come from a request body, checked. */
function tokenInput(body: TokenBody | undefined, defaultName: string) {
  const { name = defaultName, scopes, expiresIn } = body ?? {};
  if (typeof name !== 'string') throw new BadRequestException('name must be a string');
  if (scopes !== undefined && !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string'))) {
    throw new BadRequestException('scopes must be a list of strings');
  }
  if (expiresIn !== undefined && typeof expiresIn !== 'number')
    throw new BadRequestException('expiresIn must be a number');
  return { name, ...(scopes ? { scopes: scopes as string[] } : {}), ...(expiresIn !== undefined ? { expiresIn } : {}) };
}

@Controller()
export class AuthController {
  constructor(
    private readonly tokens: TokensService,
    @InjectRepository(User) private readonly users: Repository<User>,
  ) {}

  @Public()
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  /** Trades an e-mail and password for a first personal access token. */
  @Public()
  @Post('login')
  @HttpCode(201)
  async login(@Body() body: LoginBody | undefined) {
    const { email, password } = body ?? {};
    if (typeof email !== 'string' || typeof password !== 'string') {
      throw new BadRequestException('email and password must be strings');
    }
    const user = await this.users.findOneBy({ email });
    if (!user || user.disabled || !(await verifyPassword(password, user.pwd))) {
      throw new UnauthorizedException('wrong e-mail or password');
    }
    const { token, accessToken } = await this.tokens.issue(user.uuid, tokenInput(body, 'login'));
    return { token, ...accessToken };
  }

  @Get('me')
  me(@CurrentUser() user: User, @CurrentToken() token: VerifiedAccessToken<User>) {
    return { uuid: user.uuid, email: user.email, tokenId: token.accessToken.id, scopes: token.scopes };
  }

  /** A new token for the current user, no broader than the token that asks for it. */
  @Post('tokens')
  @HttpCode(201)
  async createToken(
    @CurrentUser() user: User,
    @CurrentToken() current: VerifiedAccessToken<User>,
    @Body() body: TokenBody | undefined,
  ) {
    const { token, accessToken } = await this.tokens.issue(user.uuid, tokenInput(body, 'api'), {
      within: current.scopes,
    });
    return { token, ...accessToken }; // `token` is never available again
  }

  @Get('tokens')
  list(@CurrentUser() user: User) {
    return this.tokens.list(user.uuid);
  }

  @Delete('tokens/:id')
  revoke(@CurrentUser() user: User, @Param('id') id: string) {
    return this.tokens.revoke(user.uuid, id);
  }

  /** Signs out everywhere: revokes all the user's tokens, this one too. */
  @Post('tokens/revoke-all')
  @HttpCode(200)
  async revokeAll(@CurrentUser() user: User) {
    return { revoked: await this.tokens.revokeAll(user.uuid) };
  }
}
