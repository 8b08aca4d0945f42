import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { hashPassword } from './password';
import { User } from './user.entity';

@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  async create(email: string, password: string, permissions: string[] = []): Promise<User> {
    return this.users.save(this.users.create({ email, pwd: await hashPassword(password), permissions }));
  }

  /** Through `save()`: the module's subscriber revokes the user's tokens in the same transaction. */
  async changePassword(uuid: string, password: string): Promise<void> {
    const user = await this.users.findOneByOrFail({ uuid });
    user.pwd = await hashPassword(password);
    await this.users.save(user);
  }
}
