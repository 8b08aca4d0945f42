import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessTokenGuard, AccessTokensModule, ScopesGuard } from 'nestjs-access-tokens';
import { schema } from './database.js';
import { DEMO_CONFIG, type DemoConfig } from './demo.config.js';
import { AuthController } from './auth/auth.controller.js';
import { HealthController } from './health.controller.js';
import { DatabaseOutageFilter } from './outage.filter.js';
import { TokenOrPasswordGuard } from './tokens/token-or-password.guard.js';
import { TokensController } from './tokens/tokens.controller.js';
import { User, permissionsOf } from './users/user.entity.js';
import { UsersController } from './users/users.controller.js';
import { UsersService } from './users/users.service.js';
import { AdminSeeder } from './users/admin.seeder.js';

/** The demo API: users with bcrypt passwords, and the token routes around `AccessTokensModule`. */
@Module({})
export class AppModule {
  static forRoot(config: DemoConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot({
          ...config.database,
          entities: [User],
          // AccessTokensModule registers its entity through forFeature.
          autoLoadEntities: true,
          migrations: [...schema.migrations],
          migrationsRun: true,
        }),
        TypeOrmModule.forFeature([User]),
        AccessTokensModule.forRoot({
          user: { entity: User, permissions: (user: User) => permissionsOf(user) },
          clock: config.clock,
          cache: config.cache,
        }),
      ],
      controllers: [HealthController, UsersController, TokensController, AuthController],
      providers: [
        { provide: DEMO_CONFIG, useValue: config },
        UsersService,
        AdminSeeder,
        TokenOrPasswordGuard,
        // Every route needs a token unless it is @Public(); @Scopes() is checked after.
        { provide: APP_GUARD, useClass: AccessTokenGuard },
        { provide: APP_GUARD, useClass: ScopesGuard },
        { provide: APP_FILTER, useClass: DatabaseOutageFilter },
      ],
    };
  }
}
