import { describe, expect, it } from '@jest/globals';
import { QueryFailedError } from 'typeorm';
import { isDatabaseUnavailable, isTransactionConflict, TRANSACTION_ATTEMPTS, withConflictRetries } from './outage.js';

describe('isDatabaseUnavailable', () => {
  it('sees a refused or lost connection, however the driver or TypeORM wraps it', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(refused)).toBe(true);
    expect(
      isDatabaseUnavailable(
        new QueryFailedError('SELECT 1', [], Object.assign(new Error('terminating connection'), { code: '57P01' })),
      ),
    ).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(
      isDatabaseUnavailable(Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' })),
    ).toBe(true);
    expect(isDatabaseUnavailable(new Error('wrapped', { cause: refused }))).toBe(true);
  });

  it('leaves other failures alone', () => {
    expect(
      isDatabaseUnavailable(
        new QueryFailedError('INSERT', [], Object.assign(new Error('duplicate key'), { code: '23505' })),
      ),
    ).toBe(false);
    expect(isDatabaseUnavailable(new TypeError('x is undefined'))).toBe(false);
    expect(isDatabaseUnavailable(null)).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
  });
});

describe('withConflictRetries', () => {
  const deadlock = () =>
    new QueryFailedError('UPDATE', [], Object.assign(new Error('deadlock detected'), { code: '40P01' }));
  const unavailable = (cause: unknown) => new Error('unavailable', { cause });

  it('runs a transaction that lost a deadlock again, and returns what the next run gives', async () => {
    let runs = 0;
    const result = await withConflictRetries(async () => {
      if (++runs < TRANSACTION_ATTEMPTS) throw deadlock();
      return 'done';
    }, unavailable);
    expect({ result, runs }).toEqual({ result: 'done', runs: TRANSACTION_ATTEMPTS });
    expect(isTransactionConflict(Object.assign(new Error('Deadlock found'), { code: 'ER_LOCK_DEADLOCK' }))).toBe(true);
  });

  it('gives up after a bounded number of runs with the unavailable error, never the deadlock itself', async () => {
    let runs = 0;
    await expect(
      withConflictRetries(async () => {
        runs++;
        throw deadlock();
      }, unavailable),
    ).rejects.toThrow('unavailable');
    expect(runs).toBe(TRANSACTION_ATTEMPTS);
  });

  it('passes other failures through at once, and maps a database away to unavailable', async () => {
    let runs = 0;
    await expect(
      withConflictRetries(async () => {
        runs++;
        throw new TypeError('bug');
      }, unavailable),
    ).rejects.toThrow('bug');
    expect(runs).toBe(1);
    await expect(
      withConflictRetries(async () => {
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      }, unavailable),
    ).rejects.toThrow('unavailable');
  });
});
