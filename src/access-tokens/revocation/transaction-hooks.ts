import { Injectable } from '@nestjs/common';
import type { EntityManager, QueryRunner } from 'typeorm';

interface Deferred {
  /** The transaction depth the work was queued at: a rollback to a shallower depth drops it. */
  depth: number;
  work: () => void;
}

/** TypeORM keeps the depth of nested transactions (savepoints) in a protected field. */
function depthOf(runner: QueryRunner): number {
  return (runner as unknown as { transactionDepth?: number }).transactionDepth ?? (runner.isTransactionActive ? 1 : 0);
}

/**
 * Runs work once the transaction of an EntityManager commits, and drops it if it rolls back:
 * events must not announce a revocation that did not happen. Fed by the module's subscriber,
 * which TypeORM tells of every commit and rollback on the DataSource. A released savepoint is not
 * a commit: its work waits for the outermost transaction.
 */
@Injectable()
export class TransactionHooks {
  private readonly pending = new WeakMap<QueryRunner, Deferred[]>();

  /** Runs `work` after `manager`'s transaction commits, or now if it is in none. */
  afterCommit(manager: EntityManager, work: () => void): void {
    const runner = manager.queryRunner;
    if (!runner?.isTransactionActive) return work();
    const queue = this.pending.get(runner) ?? [];
    queue.push({ depth: depthOf(runner), work });
    this.pending.set(runner, queue);
  }

  committed(runner: QueryRunner): void {
    const queue = this.pending.get(runner);
    if (!queue) return;
    if (runner.isTransactionActive) {
      // A savepoint was released: its work now belongs to the enclosing transaction.
      const depth = depthOf(runner);
      for (const deferred of queue) deferred.depth = Math.min(deferred.depth, depth);
      return;
    }
    this.pending.delete(runner);
    for (const { work } of queue) work();
  }

  rolledBack(runner: QueryRunner): void {
    const queue = this.pending.get(runner);
    if (!queue) return;
    const depth = runner.isTransactionActive ? depthOf(runner) : 0;
    const kept = queue.filter((deferred) => deferred.depth <= depth);
    if (kept.length > 0) this.pending.set(runner, kept);
    else this.pending.delete(runner);
  }
}
