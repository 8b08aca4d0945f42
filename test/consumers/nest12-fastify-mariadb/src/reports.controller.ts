import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CurrentToken, CurrentUser, Scopes, type VerifiedAccessToken } from 'nestjs-access-tokens';
import type { User } from './user.entity.js';

@Controller('reports')
export class ReportsController {
  private readonly reports: string[] = ['2026-q1', '2026-q2'];

  @Scopes({ anyOf: ['reports:read', 'reports:admin'] })
  @Get()
  list(@CurrentUser() user: User, @CurrentToken() token: VerifiedAccessToken<User>) {
    return { owner: user.email, scopes: token.scopes, reports: this.reports };
  }

  @Scopes('reports:write')
  @Post()
  @HttpCode(201)
  create(@Body() body: { title?: unknown } | undefined) {
    const title = typeof body?.title === 'string' ? body.title : 'untitled';
    return { title };
  }
}
