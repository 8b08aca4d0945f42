import { Inject, Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { DataSource, type EntityManager, type TransactionCommitEvent, type TransactionRollbackEvent } from 'typeorm';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { BLOCKED, USER_DELETED } from '../access-tokens.constants.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { CacheInvalidation } from '../cache/cache-invalidation.js';
import { sameValue } from '../core/fingerprint.js';
import { ownerKey } from '../core/owner-key.js';
import { TokensService } from '../tokens.service.js';
import { TransactionHooks } from './transaction-hooks.js';
import { UserDirectory } from '../storage/user-directory.service.js';
import { OwnerRevocationSubscriber } from './owner-revocation.subscriber.js';

/**
 * Revokes a user's tokens, in the same transaction, when a `save()` changes a watched field, and
 * when the user is removed (`OwnerRevocationSubscriber`). Registers with the app's own DataSource
 * while the module runs; and feeds the after-commit hooks, as TypeORM tells it of every
 * transaction on the DataSource.
 */
@Injectable()
export class UserRevocationSubscriber extends OwnerRevocationSubscriber implements OnModuleInit {
  protected readonly deletedReason = USER_DELETED;
  private readonly reasons: ReadonlyMap<string, string>;

  constructor(
    dataSource: DataSource,
    invalidation: CacheInvalidation,
    private readonly tokens: TokensService,
    private readonly users: UserDirectory,
    private readonly transactions: TransactionHooks,
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
  ) {
    super(dataSource, invalidation);
    const { usernameField, passwordHashField } = options.user;
    this.reasons = new Map([
      [usernameField, 'username_changed'],
      ...(passwordHashField ? [[passwordHashField, 'password_changed'] as const] : []),
    ]);
  }

  protected get entity(): Type<object> {
    return this.options.user.entity;
  }

  onModuleInit(): void {
    this.dataSource.subscribers.push(this);
  }

  protected idOf(user: object): string {
    return this.users.idOf(user);
  }

  protected cacheKeyOf(id: string): string {
    return ownerKey('user', id);
  }

  protected revokeAll(id: string, reason: string, manager: EntityManager): Promise<unknown> {
    return this.tokens.revokeAll(id, reason, manager);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    this.transactions.committed(event.queryRunner);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    this.transactions.rolledBack(event.queryRunner);
  }

  /** The app's policy first, then the watched fields; for blocking, only the change to blocked. */
  protected reasonToRevoke(before: object, after: object, changed: ReadonlySet<string>): string | false {
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
