import { ConflictException, Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import bcrypt from 'bcrypt';
import { QueryFailedError, type Repository } from 'typeorm';
import { InvalidCredentialsError } from '../access-tokens/index.js';
import { DEMO_CONFIG, type DemoConfig } from '../demo.config.js';
import { User } from './user.entity.js';

/** Unique-constraint violations, as PostgreSQL, MariaDB/MySQL and SQLite report them. */
const UNIQUE_VIOLATIONS = new Set(['23505', 'ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_UNIQUE']);

@Injectable()
export class UsersService {
  /** Compared against when the user name is unknown, so that both failures take as long. */
  private readonly dummyHash: Promise<string>;

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {
    this.dummyHash = bcrypt.hash('not a password', config.bcryptRounds);
  }

  async create(username: string, password: string, options: { isAdmin?: boolean } = {}): Promise<User> {
    if (await this.users.existsBy({ username })) throw taken(username);
    const user = this.users.create({
      username,
      passwordHash: await bcrypt.hash(password, this.config.bcryptRounds),
      blocked: false,
      isAdmin: options.isAdmin ?? false,
    });
    try {
      return await this.users.save(user);
    } catch (error) {
      const code = error instanceof QueryFailedError ? (error.driverError as { code?: string }).code : undefined;
      if (code !== undefined && UNIQUE_VIOLATIONS.has(code)) throw taken(username);
      throw error;
    }
  }

  /** The user with that name and password; `InvalidCredentialsError` otherwise. */
  async checkPassword(username: string, password: string): Promise<User> {
    const user = await this.users.findOneBy({ username });
    const matches = await bcrypt.compare(password, user?.passwordHash ?? (await this.dummyHash));
    if (!user || !matches) throw new InvalidCredentialsError();
    return user;
  }

  async findById(id: number): Promise<User | null> {
    return this.users.findOneBy({ id });
  }
}

function taken(username: string): ConflictException {
  return new ConflictException(`The user name "${username}" is taken`);
}
