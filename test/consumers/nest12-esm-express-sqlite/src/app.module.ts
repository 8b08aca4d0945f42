import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  AccessTokenGuard,
  AccessTokensModule,
  ScopesGuard,
  type AccessTokensModuleOptions,
} from 'nestjs-access-tokens';
import type { AccessTokensRoutesOptions } from 'nestjs-access-tokens/routes';
import { AppController } from './app.controller.js';
import { databaseOptions } from './database.js';
import { User } from './user.entity.js';

/** How this app's users look to the access tokens. */
export const ACCESS_TOKENS_USER = {
  entity: User,
  idField: 'uuid',
  usernameField: 'email',
  passwordHashField: 'pwd',
  blockedField: 'disabled',
  permissions: (user: User) => user.permissions,
} satisfies AccessTokensModuleOptions['user'];

/**
 * The module's ready-made routes, beside the app's own (which has `POST /tokens` already):
 * `POST /access-tokens/generate` (HTTP Basic e-mail and password, or a token), `GET`/`POST
 * /access-tokens`, ... and `POST /auth/login`, `/auth/refresh`, `/auth/logout`.
 */
export const ACCESS_TOKENS_ROUTES = {
  path: 'access-tokens',
  sessionsPath: 'auth',
  password: true,
} satisfies AccessTokensRoutesOptions;

@Module({})
export class AppModule {
  /** `tokens`: more options of the access tokens (tests pass a clock, or other secrets). */
  static forRoot(tokens: Partial<Omit<AccessTokensModuleOptions, 'user'>> = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        TypeOrmModule.forRoot({ ...databaseOptions(), autoLoadEntities: true, synchronize: true }),
        TypeOrmModule.forFeature([User]),
        AccessTokensModule.forRoot({
          secret: process.env.TOKEN_SECRET,
          routes: ACCESS_TOKENS_ROUTES,
          ...tokens,
          user: ACCESS_TOKENS_USER,
        }),
      ],
      controllers: [AppController],
      providers: [
        // Every route needs a token unless marked @Public(); @Scopes() is checked after.
        { provide: APP_GUARD, useClass: AccessTokenGuard },
        { provide: APP_GUARD, useClass: ScopesGuard },
      ],
    };
  }
}
