import { Body, Controller, Get, NotFoundException, Param, ParseIntPipe, Post } from '@nestjs/common';
import { CurrentUser, Public, Scopes } from '../access-tokens/index.js';
import { CreateUserDto } from './users.dto.js';
import { User, publicUser } from './user.entity.js';
import { UsersService } from './users.service.js';

@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** Sign up. */
  @Public()
  @Post()
  async create(@Body() body: CreateUserDto) {
    return publicUser(await this.users.create(body.username, body.password));
  }

  @Get('me')
  me(@CurrentUser() user: User) {
    return publicUser(user);
  }

  @Scopes('users:read')
  @Get(':id')
  async findOne(@Param('id', ParseIntPipe) id: number) {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundException(`No user ${id}`);
    return publicUser(user);
  }
}
