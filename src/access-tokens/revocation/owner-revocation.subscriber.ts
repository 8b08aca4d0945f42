import type { OnModuleDestroy, Type } from '@nestjs/common';
import type {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  RemoveEvent,
  SoftRemoveEvent,
  UpdateEvent,
} from 'typeorm';
import type { CacheInvalidation } from '../cache/cache-invalidation.js';

/**
 * What a subscriber to an owner's entity (the user's, a team's) does: a `save()` that changes a
 * watched field revokes the owner's tokens in the same transaction, any other `save()` drops what
 * every instance cached of them (their permissions may have changed), and removing the owner
 * revokes them. Registered with the app's own DataSource by the subclass (not through
 * `@EventSubscriber()`, which is global), so two apps in one process never see each other's events.
 * Writes TypeORM does not describe (`update()`, query builders, raw SQL) are caught at verification
 * by the token's fingerprint instead.
 */
export abstract class OwnerRevocationSubscriber implements EntitySubscriberInterface<object>, OnModuleDestroy {
  constructor(
    protected readonly dataSource: DataSource,
    private readonly invalidation: CacheInvalidation,
  ) {}

  /** The owner's entity class. */
  protected abstract readonly entity: Type<object>;
  /** The reason the tokens of a removed owner are revoked with. */
  protected abstract readonly deletedReason: string;
  /** The owner's primary key, as the token table stores it. */
  protected abstract idOf(owner: object): string;
  /** Its key in the verification cache (`ownerKey`). */
  protected abstract cacheKeyOf(id: string): string;
  /** Why the change from `before` to `after` (`changed` the columns written) revokes, or `false`. */
  protected abstract reasonToRevoke(before: object, after: object, changed: ReadonlySet<string>): string | false;
  /** Revokes every live token of the owner in `manager`'s transaction. */
  protected abstract revokeAll(id: string, reason: string, manager: EntityManager): Promise<unknown>;

  listenTo(): Type<object> {
    return this.entity;
  }

  async afterUpdate(event: UpdateEvent<object>): Promise<void> {
    // Only save() describes the row before the change and which columns changed.
    const before = event.databaseEntity;
    if (!before || !event.entity || event.updatedColumns.length === 0) return;
    const after = { ...before, ...event.entity };
    const changed = new Set(event.updatedColumns.map((column) => column.propertyName));
    const reason = this.reasonToRevoke(before, after, changed);
    const id = this.idOf(before);
    // A revocation drops what is cached of the owner's tokens; so must any other change, which may
    // change what the tokens may do (permissions, say).
    if (reason) await this.revokeAll(id, reason, event.manager);
    else this.invalidation.invalidate(event.manager, [this.cacheKeyOf(id)]);
  }

  async beforeRemove(event: RemoveEvent<object>): Promise<void> {
    await this.removed(event.entity ?? event.databaseEntity, event);
  }

  async beforeSoftRemove(event: SoftRemoveEvent<object>): Promise<void> {
    await this.removed(event.entity ?? event.databaseEntity, event);
  }

  onModuleDestroy(): void {
    const index = this.dataSource.subscribers.indexOf(this);
    if (index !== -1) this.dataSource.subscribers.splice(index, 1);
  }

  private async removed(
    owner: object | undefined,
    event: RemoveEvent<object> | SoftRemoveEvent<object>,
  ): Promise<void> {
    if (owner) await this.revokeAll(this.idOf(owner), this.deletedReason, event.manager);
  }
}
