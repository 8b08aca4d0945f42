import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { And, In, IsNull, LessThanOrEqual, MoreThan, Repository, type FindOptionsWhere } from 'typeorm';
import { AccessTokenEvents } from './access-token.events.js';
import type { ResolvedAccessTokensOptions } from './access-tokens-options.interface.js';
import { RESOLVED_OPTIONS } from './access-tokens.internal-constants.js';
import { ownerKindOf } from './core/owner-key.js';
import { AccessToken, stored } from './storage/access-token.entity.js';

/** Rows deleted per statement when pruning, and notices fired per run: no statement locks much at once. */
const PRUNE_BATCH = 500;

/**
 * The module's background work, every `maintenance.intervalSeconds`, off the request path:
 * `expiring` notices, and pruning unless `maintenance.prune: false`. A run never overlaps the
 * previous one. `TokensService.prune()` and `notifyExpiring()` run the same work when an app asks.
 */
@Injectable()
export class TokenMaintenance implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(TokenMaintenance.name);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @InjectRepository(AccessToken) private readonly repository: Repository<AccessToken>,
    private readonly events: AccessTokenEvents,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {}

  onApplicationBootstrap(): void {
    const { prune, expiringNoticeSeconds, intervalSeconds } = this.options.maintenance;
    if (!prune && expiringNoticeSeconds === false) return;
    // unref: the timer alone never keeps the process alive.
    this.timer = setInterval(() => void this.run(), intervalSeconds * 1000).unref();
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
      await this.notifyExpiring();
      if (this.options.maintenance.prune) await this.prune();
    } catch (error) {
      this.logger.warn(`Token maintenance failed, will retry: ${String(error)}`);
    }
  }

  /**
   * Deletes the tokens that expired, idled out or were revoked longer than
   * `maintenance.retentionSeconds` ago, in small batches; returns how many. Safe to run on several
   * instances at once: each deletes by primary key, and a row another instance deleted first is
   * simply not counted.
   */
  async prune(): Promise<number> {
    const cutoff = new Date(this.options.clock.now().getTime() - this.options.maintenance.retentionSeconds * 1000);
    const { repository } = this;
    let count = 0;
    for (;;) {
      const batch = await repository.find({
        select: { id: true },
        where: pastRetention(cutoff),
        order: { id: 'ASC' },
        take: PRUNE_BATCH,
      });
      if (batch.length === 0) break;
      const result = await repository.delete({ id: In(batch.map((token) => token.id)) });
      count += result.affected ?? 0;
      if (batch.length < PRUNE_BATCH) break;
    }
    if (count > 0) this.events.emit('pruned', { count });
    return count;
  }

  /**
   * Fires `expiring` for each live personal or team token (a team's with `ownerKind: 'team'`) that
   * expires within `maintenance.expiringNoticeSeconds` and has not had it yet; returns how many.
   * Login sessions are left out: they are renewed, not replaced by hand. Each token is claimed by a
   * conditional update first, so that of several instances exactly one fires it.
   */
  async notifyExpiring(): Promise<number> {
    const notice = this.options.maintenance.expiringNoticeSeconds;
    if (notice === false) return 0;
    const now = this.options.clock.now();
    const { repository } = this;
    const due = await repository.find({
      where: {
        kind: In(['personal', 'team']),
        expiringNotifiedAt: IsNull(),
        revokedAt: IsNull(),
        expiresAt: And(MoreThan(stored(now)), LessThanOrEqual(stored(new Date(now.getTime() + notice * 1000)))),
      },
      take: PRUNE_BATCH,
    });
    let count = 0;
    for (const token of due) {
      const claim = await repository.update(
        { id: token.id, expiringNotifiedAt: IsNull() },
        { expiringNotifiedAt: now },
      );
      if ((claim.affected ?? 0) === 0) continue;
      count += 1;
      this.events.emit('expiring', {
        userId: token.userId,
        tokenId: token.id,
        name: token.name,
        expiresAt: token.expiresAt!,
        ...ownerKindOf(token.kind),
      });
    }
    return count;
  }
}

/** Where-clause of tokens past their retention: expired, idled out or revoked before `cutoff`. */
function pastRetention(cutoff: Date): FindOptionsWhere<AccessToken>[] {
  const before = LessThanOrEqual(stored(cutoff));
  return [{ expiresAt: before }, { idleExpiresAt: before }, { revokedAt: before }];
}
