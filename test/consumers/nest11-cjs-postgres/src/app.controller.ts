import { Controller, Get, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, CurrentUser, Public, ScopesGuard } from 'nestjs-access-tokens';
import { User } from './users/user.entity';

@UseGuards(AccessTokenGuard, ScopesGuard)
@Controller()
export class AppController {
  @Public()
  @Get()
  getHello(): string {
    return 'Hello World!';
  }

  /** Any valid token. */
  @Get('me')
  me(@CurrentUser() user: User) {
    return { uuid: user.uuid, email: user.email };
  }
}
