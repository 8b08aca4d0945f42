import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { ResolvedAccessTokensOptions } from './access-tokens-options.interface.js';
import { RESOLVED_OPTIONS } from './access-tokens.internal-constants.js';
import { TokensService } from './tokens.service.js';

/**
 * The module's background work, every `maintenanceInterval` seconds, off the request path:
 * `expiring` notices, and pruning unless `prune: false`. A run never overlaps the previous one.
 */
@Injectable()
export class TokenMaintenance implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TokenMaintenance.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly tokens: TokensService,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.options.prune && this.options.expiringNotice === false) return;
    // unref: the timer alone never keeps the process alive.
    this.timer = setInterval(() => void this.run(), this.options.maintenanceInterval * 1000).unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One run; does nothing if the previous one is still going. */
  run(): Promise<void> {
    this.running ??= this.work().finally(() => (this.running = undefined));
    return this.running;
  }

  private async work(): Promise<void> {
    try {
      await this.tokens.notifyExpiring();
      if (this.options.prune) await this.tokens.prune();
    } catch (error) {
      this.logger.warn(`Token maintenance failed, will retry: ${String(error)}`);
    }
  }
}
