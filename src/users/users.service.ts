import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import bcrypt from 'bcrypt';
import { QueryFailedError, Repository } from 'typeorm';
import { DEMO_CONFIG, type DemoConfig } from '../demo.config.js';
import { User } from './user.entity.js';

/** Unique-constraint violations, as PostgreSQL, MariaDB/MySQL and SQLite report them. */
const UNIQUE_VIOLATIONS = new Set(['23505', 'ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_UNIQUE']);

/**
 * The demo's users. Passwords are checked by the token module's password grant
 * (`PasswordGrantService`, `@AllowPassword()`), which reads this entity's `passwordHash`.
 */
@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  async create(username: string, password: string, options: { isAdmin?: boolean } = {}): Promise<User> {
    if (await this.users.existsBy({ username })) throw taken(username);
    const user = this.users.create({
      username,
      passwordHash: await bcrypt.hash(password, this.config.bcryptRounds),
      blocked: false,
      isAdmin: options.isAdmin ?? false,
    });
    return this.saveUnique(user);
  }

  async findById(id: number): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  /**
   * Changes the user's name or password once the current password is confirmed. Saved with
   * `save()`, so the token module's subscriber revokes all the user's tokens in the same
   * transaction.
   */
  async updateCredentials(
    user: User,
    change: { username?: string; password?: string; currentPassword: string },
  ): Promise<User> {
    if (!(await bcrypt.compare(change.currentPassword, user.passwordHash))) {
      throw new ForbiddenException('currentPassword is wrong');
    }
    // A copy: `user` is the authenticated user, which the token module's cache shares between
    // requests; changed in place, a save that then fails would leave other requests seeing it.
    const updated = this.users.create({ ...user });
    if (change.username !== undefined && change.username !== user.username) {
      if (await this.users.existsBy({ username: change.username })) throw taken(change.username);
      updated.username = change.username;
    }
    if (change.password !== undefined)
      updated.passwordHash = await bcrypt.hash(change.password, this.config.bcryptRounds);
    return this.saveUnique(updated);
  }

  /** Blocks or unblocks a user; blocking revokes their tokens. */
  async setBlocked(admin: User, id: number, blocked: boolean): Promise<void> {
    if (id === admin.id && blocked) throw new BadRequestException('An admin cannot block themselves');
    const user = await this.findById(id);
    if (!user) throw new NotFoundException(`No user ${id}`);
    user.blocked = blocked;
    await this.users.save(user);
  }

  /** Creates the admin, or makes the existing user of that name one. */
  async ensureAdmin(username: string, password: string): Promise<void> {
    const existing = await this.users.findOneBy({ username });
    if (!existing) {
      await this.create(username, password, { isAdmin: true });
    } else if (!existing.isAdmin) {
      existing.isAdmin = true;
      await this.users.save(existing);
    }
  }

  private async saveUnique(user: User): Promise<User> {
    try {
      return await this.users.save(user);
    } catch (error) {
      const code = error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined;
      if (code !== undefined && UNIQUE_VIOLATIONS.has(code)) throw taken(user.username);
      throw error;
    }
  }
}

function taken(username: string): ConflictException {
  return new ConflictException(`The user name "${username}" is taken`);
}
