import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessTokenGuard, AccessTokensModule, ScopesGuard } from 'nestjs-access-tokens';
import { schema } from './database.js';
import { DEMO_CONFIG, type DemoConfig } from './demo.config.js';
import { AuthController } from './auth/auth.controller.js';
import { AuthService } from './auth/auth.service.js';
import { GraphQLExceptionFilter } from './graphql/graphql-exception.filter.js';
import { demoGraphQLModule, GRAPHQL_RESOLVERS } from './graphql/graphql.module.js';
import { HealthController } from './health.controller.js';
import { TokenOrPasswordGuard } from './tokens/token-or-password.guard.js';
import { TokensController } from './tokens/tokens.controller.js';
import { User, permissionsOf } from './users/user.entity.js';
import { UsersController } from './users/users.controller.js';
import { UsersService } from './users/users.service.js';
import { AdminSeeder } from './users/admin.seeder.js';

/**
 * The demo API: users with bcrypt passwords, and the token routes around `AccessTokensModule`, over
 * REST and GraphQL (`/graphql`).
 */
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
          secret: config.secret,
          clock: config.clock,
          cache: config.cache,
          ...(config.queryParameter === undefined ? {} : { allowQueryParameter: true, queryParameter: config.queryParameter }),
        }),
        demoGraphQLModule(config.httpAdapter ?? 'express'),
      ],
      controllers: [HealthController, UsersController, TokensController, AuthController],
      providers: [
        { provide: DEMO_CONFIG, useValue: config },
        UsersService,
        AuthService,
        ...GRAPHQL_RESOLVERS,
        AdminSeeder,
        TokenOrPasswordGuard,
        // Every route needs a token unless it is @Public(); @Scopes() is checked after.
        { provide: APP_GUARD, useClass: AccessTokenGuard },
        { provide: APP_GUARD, useClass: ScopesGuard },
        // DatabaseOutageFilter over HTTP; in a resolver, GraphQL errors with their extensions.code.
        { provide: APP_FILTER, useClass: GraphQLExceptionFilter },
      ],
    };
  }
}
