import { ConfigurableModuleBuilder } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { AccessTokensModuleOptions } from './access-tokens-options.interface.js';
import { AccessTokensExceptionFilter } from './edge/access-tokens.filter.js';

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
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: ACCESS_TOKENS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AccessTokensModuleOptions>({ moduleName: 'AccessTokens' })
  .setClassMethodName('forRoot')
  // Global by default: guards used in any module of the app need the module's providers.
  .setExtras<AccessTokensModuleExtras>({ isGlobal: true, exceptionFilter: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
    providers:
      extras.exceptionFilter === false
        ? definition.providers
        : [...(definition.providers ?? []), { provide: APP_FILTER, useClass: AccessTokensExceptionFilter }],
  }))
  .build();
