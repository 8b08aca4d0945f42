import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit, type Type } from '@nestjs/common';
import {
  DataSource,
  type EntitySubscriberInterface,
  type RemoveEvent,
  type SoftRemoveEvent,
  type UpdateEvent,
} from 'typeorm';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { BLOCKED, TEAM_DELETED, TEAM_RENAMED } from '../access-tokens.constants.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { CacheInvalidation } from '../cache/cache-invalidation.js';
import { sameValue } from '../core/fingerprint.js';
import { ownerKey } from '../core/owner-key.js';
import { TeamDirectory } from '../storage/team-directory.service.js';
import { TeamTokensService } from '../team-tokens.service.js';

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
export class TeamRevocationSubscriber implements EntitySubscriberInterface<object>, OnModuleInit, OnModuleDestroy {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tokens: TeamTokensService,
    private readonly teams: TeamDirectory,
    private readonly invalidation: CacheInvalidation,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {}

  onModuleInit(): void {
    if (this.teams.enabled) this.dataSource.subscribers.push(this);
  }

  onModuleDestroy(): void {
    const index = this.dataSource.subscribers.indexOf(this);
    if (index !== -1) this.dataSource.subscribers.splice(index, 1);
  }

  listenTo(): Type<object> {
    return this.options.teams!.entity;
  }

  async afterUpdate(event: UpdateEvent<object>): Promise<void> {
    // Only save() describes the row before the change and which columns changed.
    const before = event.databaseEntity;
    if (!before || !event.entity || event.updatedColumns.length === 0) return;
    const after = { ...before, ...event.entity };
    const changed = new Set(event.updatedColumns.map((column) => column.propertyName));
    const reason = this.reasonToRevoke(before, after, changed);
    const teamId = this.teams.idOf(before);
    // Any other change may change what the tokens may do (permissions): their cached verifications go.
    if (reason) await this.tokens.revokeAll(teamId, reason, event.manager);
    else this.invalidation.invalidate(event.manager, [ownerKey('team', teamId)]);
  }

  async beforeRemove(event: RemoveEvent<object>): Promise<void> {
    await this.removed(event.entity ?? event.databaseEntity, event);
  }

  async beforeSoftRemove(event: SoftRemoveEvent<object>): Promise<void> {
    await this.removed(event.entity ?? event.databaseEntity, event);
  }

  private async removed(team: object | undefined, event: RemoveEvent<object> | SoftRemoveEvent<object>): Promise<void> {
    if (team) await this.tokens.revokeAll(this.teams.idOf(team), TEAM_DELETED, event.manager);
  }

  /** The first watched field that changed: its reason; for blocking, only the change to blocked. */
  private reasonToRevoke(before: object, after: object, changed: ReadonlySet<string>): string | false {
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
