/**
 * `nestjs-access-tokens/cli`: the tokens command line an app runs on its own module, from a
 * `cli.ts` of a few lines. Kept out of the main entry so that a server never loads it.
 */
export type { TokensCliApp, TokensCliModule } from './tokens-cli.app.js';
export { runTokensCli, type TokensCliIo } from './tokens-cli.js';
export { REVOKED_BY_ADMIN } from './tokens-cli.constants.js';
