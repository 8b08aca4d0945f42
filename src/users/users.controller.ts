import { Controller, Get, HttpCode, NotFoundException, Param, ParseIntPipe, Patch, Post } from '@nestjs/common';
import { CurrentUser, Public, Scopes } from 'nestjs-access-tokens';
import { CreateUserDto, UpdateMeDto } from './users.dto.js';
import { User, publicUser } from './user.entity.js';
import { UsersService } from './users.service.js';
import { ValidBody } from '../validation.js';

@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** Sign up. */
  @Public()
  @Post()
  async create(@ValidBody() body: CreateUserDto) {
    return publicUser(await this.users.create(body.username, body.password));
  }

  @Get('me')
  me(@CurrentUser() user: User) {
    return publicUser(user);
  }

  /** Changes the caller's name or password; either revokes all their tokens, this one included. */
  @Patch('me')
  async updateMe(@CurrentUser() user: User, @ValidBody() body: UpdateMeDto) {
    return publicUser(await this.users.updateCredentials(user, body));
  }

  @Scopes('users:admin')
  @HttpCode(204)
  @Post(':id/block')
  async block(@CurrentUser() admin: User, @Param('id', ParseIntPipe) id: number): Promise<void> {
    await this.users.setBlocked(admin, id, true);
  }

  @Scopes('users:admin')
  @HttpCode(204)
  @Post(':id/unblock')
  async unblock(@CurrentUser() admin: User, @Param('id', ParseIntPipe) id: number): Promise<void> {
    await this.users.setBlocked(admin, id, false);
  }

  @Scopes('users:read')
  @Get(':id')
  async findOne(@Param('id', ParseIntPipe) id: number) {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundException(`No user ${id}`);
    return publicUser(user);
  }
}
