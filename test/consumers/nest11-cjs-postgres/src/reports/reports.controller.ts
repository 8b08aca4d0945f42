import { Controller, Get, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, CurrentToken, CurrentUser, Scopes, ScopesGuard } from 'nestjs-access-tokens';
import type { VerifiedAccessToken } from 'nestjs-access-tokens';
import { User } from '../users/user.entity';

@UseGuards(AccessTokenGuard, ScopesGuard)
@Controller('reports')
export class ReportsController {
  @Scopes('reports:read')
  @Get()
  list(@CurrentUser() user: User, @CurrentToken() token: VerifiedAccessToken) {
    return { owner: user.email, scopes: token.scopes, reports: ['2025-q4'] };
  }
}
