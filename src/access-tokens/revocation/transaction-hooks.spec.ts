import { describe, expect, it } from '@jest/globals';
import type { EntityManager, QueryRunner } from 'typeorm';
import { TransactionHooks } from './transaction-hooks.js';

/** A stand-in for a QueryRunner: only the transaction state the hooks read. */
function runner() {
  const state = { isTransactionActive: false, transactionDepth: 0 };
  const manager = { queryRunner: state } as unknown as EntityManager;
  return {
    manager,
    runner: state as unknown as QueryRunner,
    begin: () => {
      state.transactionDepth += 1;
      state.isTransactionActive = true;
    },
    end: () => {
      state.transactionDepth -= 1;
      state.isTransactionActive = state.transactionDepth > 0;
    },
  };
}

describe('TransactionHooks', () => {
  it('runs work at once outside a transaction', () => {
    const hooks = new TransactionHooks();
    const ran: string[] = [];
    hooks.afterCommit(runner().manager, () => ran.push('now'));
    expect(ran).toEqual(['now']);
  });

  it('runs work after the commit, and never after a rollback', () => {
    const hooks = new TransactionHooks();
    const ran: string[] = [];
    const t = runner();
    t.begin();
    hooks.afterCommit(t.manager, () => ran.push('committed'));
    expect(ran).toEqual([]);
    t.end();
    hooks.committed(t.runner);
    expect(ran).toEqual(['committed']);

    t.begin();
    hooks.afterCommit(t.manager, () => ran.push('rolled back'));
    t.end();
    hooks.rolledBack(t.runner);
    t.begin();
    t.end();
    hooks.committed(t.runner);
    expect(ran).toEqual(['committed']);
  });

  it('waits for the outermost commit, and drops the work of a rolled-back savepoint only', () => {
    const hooks = new TransactionHooks();
    const ran: string[] = [];
    const t = runner();
    t.begin();
    hooks.afterCommit(t.manager, () => ran.push('outer'));
    t.begin();
    hooks.afterCommit(t.manager, () => ran.push('released savepoint'));
    t.end();
    hooks.committed(t.runner);
    t.begin();
    hooks.afterCommit(t.manager, () => ran.push('rolled-back savepoint'));
    t.end();
    hooks.rolledBack(t.runner);
    expect(ran).toEqual([]);
    t.end();
    hooks.committed(t.runner);
    expect(ran).toEqual(['outer', 'released savepoint']);
  });
});
