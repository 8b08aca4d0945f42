import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DEMO_CONFIG, type DemoConfig } from '../demo.config.js';
import { UsersService } from './users.service.js';

/** Creates the configured admin once the database is migrated. */
@Injectable()
export class AdminSeeder implements OnApplicationBootstrap {
  constructor(
    private readonly users: UsersService,
    @Inject(DEMO_CONFIG) private readonly config: DemoConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.admin) await this.users.ensureAdmin(this.config.admin.username, this.config.admin.password);
  }
}
