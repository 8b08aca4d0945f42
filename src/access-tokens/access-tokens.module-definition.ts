import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { AccessTokensModuleOptions } from './access-tokens-options.interface.js';

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: ACCESS_TOKENS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<AccessTokensModuleOptions>({ moduleName: 'AccessTokens' })
  .setClassMethodName('forRoot')
  // Global by default: guards used in any module of the app need the module's providers.
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
