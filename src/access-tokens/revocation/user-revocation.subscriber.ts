import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit, type Type } from '@nestjs/common';
import {
  DataSource,
  type EntitySubscriberInterface,
  type RemoveEvent,
  type SoftRemoveEvent,
  type TransactionCommitEvent,
  type TransactionRollbackEvent,
  type UpdateEvent,
} from 'typeorm';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { BLOCKED, USER_DELETED } from '../access-tokens.constants.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { CacheInvalidation } from '../cache/cache-invalidation.js';
import { sameValue } from '../core/fingerprint.js';
import { TokensService } from '../tokens.service.js';
import { TransactionHooks } from './transaction-hooks.js';
import { UserDirectory } from '../storage/user-directory.service.js';

/**
 * Revokes a user's tokens, in the same transaction, when a `save()` changes a watched field, and
 * when the user is removed. Registers with the app's own DataSource while the module runs (not
 * through `@EventSubscriber()`, which is global), so two apps in one process never see each
 * other's events. Writes TypeORM does not describe (`update()`, query builders, raw SQL) are caught
 * at verification by the token's fingerprint instead.
 */
@Injectable()
export class UserRevocationSubscriber implements EntitySubscriberInterface<object>, OnModuleInit, OnModuleDestroy {
  private readonly reasons: ReadonlyMap<string, string>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly tokens: TokensService,
    private readonly users: UserDirectory,
    private readonly transactions: TransactionHooks,
    private readonly invalidation: CacheInvalidation,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {
    const { usernameField, passwordHashField } = options.user;
    this.reasons = new Map([
      [usernameField, 'username_changed'],
      ...(passwordHashField ? [[passwordHashField, 'password_changed'] as const] : []),
    ]);
  }

  onModuleInit(): void {
    this.dataSource.subscribers.push(this);
  }

  onModuleDestroy(): void {
    const index = this.dataSource.subscribers.indexOf(this);
    if (index !== -1) this.dataSource.subscribers.splice(index, 1);
  }

  listenTo(): Type<object> {
    return this.options.user.entity;
  }

  async afterUpdate(event: UpdateEvent<object>): Promise<void> {
    // Only save() describes the row before the change and which columns changed.
    const before = event.databaseEntity;
    if (!before || !event.entity || event.updatedColumns.length === 0) return;
    const after = { ...before, ...event.entity };
    const changed = new Set(event.updatedColumns.map((column) => column.propertyName));
    const reason = this.reasonToRevoke(before, after, changed);
    const userId = this.users.idOf(before);
    // A revocation drops what is cached of the user's tokens; so must any other change, which may
    // change what the tokens may do (permissions, say).
    if (reason) await this.tokens.revokeAll(userId, reason, event.manager);
    else this.invalidation.invalidate(event.manager, [userId]);
  }

  async beforeRemove(event: RemoveEvent<object>): Promise<void> {
    await this.removed(event.entity ?? event.databaseEntity, event);
  }

  async beforeSoftRemove(event: SoftRemoveEvent<object>): Promise<void> {
    await this.removed(event.entity ?? event.databaseEntity, event);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    this.transactions.committed(event.queryRunner);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.transactions.rolledBack(event.queryRunner);
  }

  private async removed(user: object | undefined, event: RemoveEvent<object> | SoftRemoveEvent<object>): Promise<void> {
    if (user) await this.tokens.revokeAll(this.users.idOf(user), USER_DELETED, event.manager);
  }

  /** The app's policy first, then the watched fields; for blocking, only the change to blocked. */
  private reasonToRevoke(before: object, after: object, changed: ReadonlySet<string>): string | false {
    const custom = this.options.revocation.shouldRevoke?.(before, after);
    if (custom) return custom;
    const old = before as Record<string, unknown>;
    const now = after as Record<string, unknown>;
    for (const field of this.options.revocation.on) {
      if (!changed.has(field) || sameValue(old[field], now[field])) continue;
      if (field !== this.options.user.blockedField) return this.reasons.get(field) ?? `${field}_changed`;
      if (now[field] && !old[field]) return BLOCKED;
    }
    return false;
  }
}
