import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessTokenGuard, AccessTokensModule, ScopesGuard, type PasswordAttemptStore } from 'nestjs-access-tokens';
import { AccessTokensHealthIndicator } from 'nestjs-access-tokens/terminus';
import { schema } from './database.js';
import { DEMO_CONFIG, type DemoConfig } from './demo.config.js';
import { AuthService } from './auth/auth.service.js';
import { PASSWORD_ATTEMPT_STORE, PasswordAttemptStoreModule } from './auth/redis-throttler.storage.js';
import { GraphQLExceptionFilter } from './graphql/graphql-exception.filter.js';
import { demoGraphQLModule, GRAPHQL_RESOLVERS } from './graphql/graphql.module.js';
import { HealthController } from './health.controller.js';
import { DemoMetrics, MetricsController } from './metrics.js';
import { SettingsPageController } from './settings-page/settings-page.controller.js';
import { TokenAuditLog } from './tokens/token-audit.log.js';
import { CanaryAlerts } from './tokens/canary-alerts.js';
import { User, permissionsOf } from './users/user.entity.js';
import { UsersController } from './users/users.controller.js';
import { Team, TeamMember, teamPermissionsOf } from './teams/team.entity.js';
import { TeamsController } from './teams/teams.controller.js';
import { TeamsService } from './teams/teams.service.js';
import { UsersService } from './users/users.service.js';
import { AdminSeeder } from './users/admin.seeder.js';

/**
 * The demo API: users with bcrypt passwords, and the token and session routes of
 * `AccessTokensModule` (`/tokens`, `/auth`), over REST and GraphQL (`/graphql`).
 */
@Module({})
export class AppModule {
  static forRoot(config: DemoConfig): DynamicModule {
    // One per app: its meter provider goes to the module's options, its exporter to GET /metrics.
    const metrics = new DemoMetrics();
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot({
          ...config.database,
          entities: [User, Team, TeamMember],
          // AccessTokensModule registers its entity through forFeature.
          autoLoadEntities: true,
          migrations: [...schema.migrations],
          migrationsRun: true,
        }),
        TypeOrmModule.forFeature([User, Team, TeamMember]),
        // The module's events reach @OnEvent() listeners (TokenAuditLog) through it.
        EventEmitterModule.forRoot(),
        AccessTokensModule.forRootAsync({
          // Async for the attempt store, a provider of its own (Redis, shared by every instance).
          imports: [PasswordAttemptStoreModule.forRoot(config.loginAttempts?.store)],
          inject: [PASSWORD_ATTEMPT_STORE],
          useFactory: (store: PasswordAttemptStore | null) => ({
            user: { entity: User, permissions: (user: User) => permissionsOf(user) },
            // Tokens that belong to a team (POST /teams/:id/tokens), capped by the team's permissions.
            teams: { entity: Team, permissions: (team: Team) => teamPermissionsOf(team) },
            secret: config.secret,
            clock: config.clock,
            cache: config.cache,
            credentials: { queryParameter: config.queryParameter ?? false },
            // The module's metrics go to the demo's own meter provider (GET /metrics).
            ...(config.metrics === false ? {} : { telemetry: { meterProvider: metrics.meterProvider } }),
            passwords: {
              throttle: config.loginAttempts
                ? {
                    perAccount: config.loginAttempts.perUser,
                    perClient: config.loginAttempts.perClient,
                    ...(store ? { store } : {}),
                  }
                : false,
            },
          }),
          // The module's token routes at /tokens (POST /tokens/generate takes a password too) and
          // its session routes at /auth, with the scopes the demo's users have.
          routes: { path: 'tokens', sessionsPath: 'auth', scopes: { read: 'tokens:read', write: 'tokens:write' } },
        }),
        demoGraphQLModule(config.httpAdapter ?? 'express'),
        TerminusModule.forRoot(),
      ],
      controllers: [HealthController, MetricsController, SettingsPageController, UsersController, TeamsController],
      providers: [
        { provide: DEMO_CONFIG, useValue: config },
        { provide: DemoMetrics, useValue: metrics },
        AccessTokensHealthIndicator,
        UsersService,
        TeamsService,
        AuthService,
        ...GRAPHQL_RESOLVERS,
        AdminSeeder,
        TokenAuditLog,
        CanaryAlerts,
        // Every route needs a token unless it is @Public(); @Scopes() is checked after.
        { provide: APP_GUARD, useClass: AccessTokenGuard },
        { provide: APP_GUARD, useClass: ScopesGuard },
        // DatabaseOutageFilter over HTTP; in a resolver, GraphQL errors with their extensions.code.
        { provide: APP_FILTER, useClass: GraphQLExceptionFilter },
      ],
    };
  }
}
