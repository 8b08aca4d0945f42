import { ConfigurableModuleBuilder } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { AccessTokensModuleOptions } from './access-tokens-options.interface.js';
import { AccessTokensExceptionFilter } from './edge/access-tokens.filter.js';
import { routesDefinition } from './routes/access-tokens-routes.js';
import { resolveRoutesOptions, type AccessTokensRoutesOptions } from './routes/access-tokens-routes.options.js';

/** Options of `forRoot()`/`forRootAsync()` that shape the module itself rather than its services. */
export interface AccessTokensModuleExtras {
  /** Whether the module's providers are visible to every module of the app. Default `true`. */
  isGlobal?: boolean;
  /**
   * Whether the module registers `AccessTokensExceptionFilter` for the whole app. Default `true`.
   * Without it, refusals are still `HttpException`s with the right status and body, but answers
   * lose their `WWW-Authenticate` challenge, and `TokensService` errors thrown in the app's own
   * routes reach the app's filters as they are.
   */
  exceptionFilter?: boolean;
  /**
   * Ready-made token and login session routes, mounted where the app says; off by default. `true`
   * for every default, or `AccessTokensRoutesOptions` (paths, scopes, password). They need
   * `class-validator` and `class-transformer`, and `bcrypt` for passwords.
   *
   * @example forRoot({ ..., routes: { path: 'tokens', sessionsPath: 'auth', scopes: { read: 'tokens:read', write: 'tokens:write' } } })
   */
  routes?: AccessTokensRoutesOptions | boolean;
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: ACCESS_TOKENS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AccessTokensModuleOptions>({ moduleName: 'AccessTokens' })
  .setClassMethodName('forRoot')
  // Global by default: guards used in any module of the app need the module's providers.
  .setExtras<AccessTokensModuleExtras>(
    { isGlobal: true, exceptionFilter: true, routes: false },
    (definition, extras) => {
      // Checked here, when forRoot() is called: a wrong path or scope stops the app before it starts.
      const routes = routesDefinition(resolveRoutesOptions(extras.routes));
      return {
        ...definition,
        global: extras.isGlobal,
        controllers: [...(definition.controllers ?? []), ...routes.controllers],
        providers: [
          ...(definition.providers ?? []),
          ...(extras.exceptionFilter === false ? [] : [{ provide: APP_FILTER, useClass: AccessTokensExceptionFilter }]),
          ...routes.providers,
        ],
      };
    },
  )
  .build();
