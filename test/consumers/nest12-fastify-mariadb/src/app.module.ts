import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  AccessToken,
  AccessTokenGuard,
  AccessTokensModule,
  CreateAccessTokens1763800000000,
  AddTokenUsagePolicy1765000000000,
  AddTokenOwnersAndAudit1766000000000,
  ScopesGuard,
} from 'nestjs-access-tokens';
import { AuthController } from './auth.controller.js';
import { databaseOptions } from './database.js';
import { CreateUsers1763700000000 } from './migrations/1763700000000-create-users.js';
import { ReportsController } from './reports.controller.js';
import { User } from './user.entity.js';

@Module({
  imports: [
    // The schema comes from migrations, run at start-up: the app's own and the module's.
    TypeOrmModule.forRoot({
      ...databaseOptions(),
      entities: [User, AccessToken],
      migrations: [
        CreateUsers1763700000000,
        CreateAccessTokens1763800000000,
        AddTokenUsagePolicy1765000000000,
        AddTokenOwnersAndAudit1766000000000,
      ],
      migrationsRun: true,
      synchronize: false,
    }),
    TypeOrmModule.forFeature([User]),
    AccessTokensModule.forRoot({
      // At least 32 random bytes (`openssl rand -base64 32`), from the environment, never the code.
      secret: process.env.TOKEN_SECRET,
      user: {
        entity: User,
        idField: 'uuid',
        usernameField: 'email',
        passwordHashField: 'pwd',
        blockedField: 'disabled',
        permissions: (user: User) => user.permissions,
      },
      // The module's token and login routes, under /api beside the app's own /login and /tokens:
      // POST /api/tokens/generate (HTTP Basic e-mail and password, or a token), GET and POST
      // /api/tokens, ...; POST /api/auth/login, /api/auth/refresh, /api/auth/logout.
      routes: { path: 'api/tokens', sessionsPath: 'api/auth', password: true },
    }),
  ],
  controllers: [AuthController, ReportsController],
  providers: [
    // Every route needs a token unless marked @Public(); @Scopes() is checked after.
    { provide: APP_GUARD, useClass: AccessTokenGuard },
    { provide: APP_GUARD, useClass: ScopesGuard },
  ],
})
export class AppModule {}
