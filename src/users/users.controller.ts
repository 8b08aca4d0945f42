import {
  BadRequestException,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Patch,
  Post,
  type PipeTransform,
} from '@nestjs/common';
import { CurrentUser, Public, Scopes } from 'nestjs-access-tokens';
import { CreateUserDto, UpdateMeDto } from './users.dto.js';
import { User, publicUser } from './user.entity.js';
import { UsersService } from './users.service.js';
import { ValidBody } from '../validation.js';

/** The largest id of the users table (a 32-bit signed integer on every database). */
const MAX_USER_ID = 2 ** 31 - 1;

/** A user id from the path: 400 if it is no whole number, 404 if no user can have it. */
class ParseUserIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^[0-9]+$/.test(value)) throw new BadRequestException('A user id is a whole number');
    const id = Number(value);
    if (id < 1 || id > MAX_USER_ID) throw new NotFoundException(`No user ${value}`);
    return id;
  }
}

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
  async block(@CurrentUser() admin: User, @Param('id', ParseUserIdPipe) id: number): Promise<void> {
    await this.users.setBlocked(admin, id, true);
  }

  @Scopes('users:admin')
  @HttpCode(204)
  @Post(':id/unblock')
  async unblock(@CurrentUser() admin: User, @Param('id', ParseUserIdPipe) id: number): Promise<void> {
    await this.users.setBlocked(admin, id, false);
  }

  @Scopes('users:read')
  @Get(':id')
  async findOne(@Param('id', ParseUserIdPipe) id: number) {
    const user = await this.users.findById(id);
    if (!user) throw new NotFoundException(`No user ${id}`);
    return publicUser(user);
  }
}
