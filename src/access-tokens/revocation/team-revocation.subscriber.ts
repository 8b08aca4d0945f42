import { Inject, Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { BLOCKED, TEAM_DELETED, TEAM_RENAMED } from '../access-tokens.constants.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { CacheInvalidation } from '../cache/cache-invalidation.js';
import { sameValue } from '../core/fingerprint.js';
import { ownerKey } from '../core/owner-key.js';
import { TeamDirectory } from '../storage/team-directory.service.js';
import { TeamTokensService } from '../team-tokens.service.js';
import { OwnerRevocationSubscriber } from './owner-revocation.subscriber.js';

/**
 * Revokes a team's tokens, in the same transaction, when a `save()` changes one of its watched
 * fields (`teams.revocation.on`: its name and blocking by default) and when the team is removed,
 * as `UserRevocationSubscriber` does for users; each revocation announced (`revoked`) and dropped
 * from every instance's cache once the transaction commits. Writes TypeORM does not describe
 * (`update()`, query builders, raw SQL) are caught at verification, by the fingerprint of the
 * team's watched fields each token keeps and the team's blocked field read with the token.
 * Registered with the app's DataSource only when `teams` is given. The after-commit hooks are fed by
 * `UserRevocationSubscriber`, which TypeORM tells of every transaction on the DataSource.
 */
@Injectable()
export class TeamRevocationSubscriber extends OwnerRevocationSubscriber implements OnModuleInit {
  protected readonly deletedReason = TEAM_DELETED;

  constructor(
    dataSource: DataSource,
    invalidation: CacheInvalidation,
    private readonly tokens: TeamTokensService,
    private readonly teams: TeamDirectory,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {
    super(dataSource, invalidation);
  }

  protected get entity(): Type<object> {
    return this.options.teams!.entity;
  }

  onModuleInit(): void {
    if (this.teams.enabled) this.dataSource.subscribers.push(this);
  }

  protected idOf(team: object): string {
    return this.teams.idOf(team);
  }

  protected cacheKeyOf(id: string): string {
    return ownerKey('team', id);
  }

  protected revokeAll(id: string, reason: string, manager: EntityManager): Promise<unknown> {
    return this.tokens.revokeAll(id, reason, manager);
  }

  /** The first watched field that changed: its reason; for blocking, only the change to blocked. */
  protected reasonToRevoke(before: object, after: object, changed: ReadonlySet<string>): string | false {
    const { nameField, blockedField, revokeOn } = this.options.teams!;
    const old = before as Record<string, unknown>;
    const now = after as Record<string, unknown>;
    for (const field of revokeOn) {
      if (!changed.has(field) || sameValue(old[field], now[field])) continue;
      if (field === nameField) return TEAM_RENAMED;
      if (field !== blockedField) return `${field}_changed`;
      if (now[field] && !old[field]) return BLOCKED;
    }
    return false;
  }
}
