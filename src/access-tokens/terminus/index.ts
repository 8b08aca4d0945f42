/**
 * `nestjs-access-tokens/terminus`: a `@nestjs/terminus` health indicator for the token store and
 * the cache bus, with `@nestjs/terminus` (an optional peer, which only this entry loads).
 *
 * @example
 * @Module({ imports: [TerminusModule], controllers: [HealthController], providers: [AccessTokensHealthIndicator] })
 */
export {
  AccessTokensHealthIndicator,
  type AccessTokensHealthDetails,
  type AccessTokensHealthOptions,
} from './access-tokens.health.js';
