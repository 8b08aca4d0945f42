import type { DynamicModule, INestApplicationContext, Type } from '@nestjs/common';

/** A root module for `runTokensCli`: the app's module class, or a `DynamicModule` such as `AppModule.forRoot(config)`. */
export type TokensCliModule = Type<unknown> | DynamicModule;

/**
 * What `runTokensCli` runs the command in:
 * - a root module (class or `DynamicModule`): the CLI creates an application context from it, and
 *   closes it when done;
 * - a function returning one (or a context), called only once the command line is understood, so
 *   that `--help` or a typo reads no configuration and opens no database; a context it returns is
 *   closed when done too;
 * - an application context the caller created, and closes: the CLI leaves it open.
 */
export type TokensCliApp =
  | TokensCliModule
  | INestApplicationContext
  | (() => TokensCliModule | INestApplicationContext | Promise<TokensCliModule | INestApplicationContext>);
