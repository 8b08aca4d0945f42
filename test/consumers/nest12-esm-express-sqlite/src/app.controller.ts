import { BadRequestException, Body, Controller, Get, HttpCode, Post, UnauthorizedException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import {
  CurrentToken,
  CurrentUser,
  Public,
  Scopes,
  TokensService,
  type VerifiedAccessToken,
} from 'nestjs-access-tokens';
import type { Repository } from 'typeorm';
import { verifyPassword } from './password.js';
import { User } from './user.entity.js';

interface LoginBody {
  email?: unknown;
  password?: unknown;
  name?: unknown;
  scopes?: unknown;
}

@Controller()
export class AppController {
  constructor(
    private readonly tokens: TokensService,
    @InjectRepository(User) private readonly users: Repository<User>,
  ) {}

  @Public()
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  /** Trades an e-mail and password for a personal access token. */
  @Public()
  @Post('tokens')
  @HttpCode(201)
  async createToken(@Body() body: LoginBody) {
    const { email, password, name = 'login', scopes } = body ?? {};
    if (typeof email !== 'string' || typeof password !== 'string' || typeof name !== 'string') {
      throw new BadRequestException('email, password and name must be strings');
    }
    if (scopes !== undefined && !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string'))) {
      throw new BadRequestException('scopes must be a list of strings');
    }
    const user = await this.users.findOneBy({ email });
    if (!user || !(await verifyPassword(password, user.pwd)))
      throw new UnauthorizedException('wrong e-mail or password');
    const { token, accessToken } = await this.tokens.issue(user.uuid, { name, ...(scopes ? { scopes } : {}) });
    return { token, id: accessToken.id, scopes: accessToken.scopes, expiresAt: accessToken.expiresAt };
  }

  @Get('me')
  me(@CurrentUser() user: User, @CurrentToken() token: VerifiedAccessToken) {
    return { uuid: user.uuid, email: user.email, scopes: token.scopes };
  }

  @Scopes('reports:read')
  @Get('reports')
  reports(@CurrentUser() user: User) {
    return { owner: user.email, reports: ['2026-q1', '2026-q2'] };
  }
}
