import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { AccessTokensError } from '../core/access-tokens.errors.js';
import { AccessToken } from '../storage/access-token.entity.js';
import { unlessUnavailable } from '../storage/outage.js';
import { TokensService } from '../tokens.service.js';
import type { CacheBusState } from '../cache/cache-bus.js';

/** Options of {@link AccessTokensHealthIndicator.isHealthy}. */
export interface AccessTokensHealthOptions {
  /** How long the token store's query may take before the store counts as down, in milliseconds. Default 1000. */
  timeoutMs?: number;
}

/** What the indicator reports under its key, beside `status`. */
export interface AccessTokensHealthDetails {
  /** Whether one query on the tokens' table answered in time. */
  tokenStore: 'up' | 'down';
  /** The cache invalidation bus: `none` without one (healthy), `down` when lost. */
  cacheBus: CacheBusState;
  /** Why the check is down: `store_unavailable`, `store_timeout`, `store_error` or `cache_bus_down`. */
  reason?: string;
}

const DEFAULT_TIMEOUT_MS = 1000;

/** The timeout's outcome, told apart from the query's. */
const TIMED_OUT = Symbol('timed out');

/**
 * A `@nestjs/terminus` health indicator for the module: `up` when one cheap query on the tokens'
 * table answers within the timeout and the cache bus, if any, is connected; `down` otherwise, with
 * a `reason`, which Terminus's `HealthCheckService.check()` answers with a 503. It never throws.
 * Provide it beside `TerminusModule` in the module of your health controller, where
 * `AccessTokensModule`'s `TokensService` can be injected.
 *
 * @example
 * @Module({ imports: [TerminusModule], controllers: [HealthController], providers: [AccessTokensHealthIndicator] })
 * // in HealthController:
 * @Get() @HealthCheck() check() { return this.health.check([() => this.accessTokens.isHealthy('accessTokens')]); }
 */
@Injectable()
export class AccessTokensHealthIndicator {
  constructor(
    private readonly healthIndicatorService: HealthIndicatorService,
    private readonly tokens: TokensService,
    private readonly dataSource: DataSource,
  ) {}

  /** The token store's and the cache bus's health, under `key`. */
  async isHealthy<const Key extends string = 'accessTokens'>(
    key: Key = 'accessTokens' as Key,
    options: AccessTokensHealthOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.healthIndicatorService.check(key);
    const { cacheBus } = this.tokens.health();
    const storeProblem = await this.storeProblem(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const details: AccessTokensHealthDetails = { tokenStore: storeProblem ? 'down' : 'up', cacheBus };
    if (storeProblem) return indicator.down({ ...details, reason: storeProblem });
    if (cacheBus === 'down') return indicator.down({ ...details, reason: 'cache_bus_down' });
    return indicator.up({ ...details });
  }

  /** `null` when one row of the tokens' table can be read within `timeoutMs`; otherwise why not. */
  private async storeProblem(timeoutMs: number): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
      timer.unref();
    });
    const query = unlessUnavailable(() =>
      this.dataSource.getRepository(AccessToken).createQueryBuilder('token').select('1').limit(1).getRawOne(),
    ).then(
      () => null,
      (error: unknown) => (error instanceof AccessTokensError ? error.code : 'store_error'),
    );
    try {
      const outcome = await Promise.race([query, timeout]);
      return outcome === TIMED_OUT ? 'store_timeout' : outcome;
    } finally {
      clearTimeout(timer);
    }
  }
}
