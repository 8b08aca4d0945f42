/**
 * Telling "the database cannot be reached" from other failures, across TypeORM's drivers: the
 * first is worth a 503 and a retry, the others are faults.
 */
import { StoreUnavailableError } from '../core/access-tokens.errors.js';

/** Codes of node's sockets, pg, mysql2 and SQLite that mean the database is away or busy. */
const UNAVAILABLE_CODES = new Set([
  // Sockets
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  // PostgreSQL: connection exceptions (08xxx), admin or crash shutdown, cannot connect now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  // MariaDB / MySQL (mysql2)
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  // SQLite: the file is locked by another process past the busy timeout
  'SQLITE_BUSY',
]);

/** What pg and mysql2 say, without a code, when a pooled connection died or never came. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Can't add new command when connection is in closed state|Connection lost/i;

/**
 * `error` and what it wraps: TypeORM's `QueryFailedError` keeps the driver's error in
 * `driverError`, other errors keep theirs in `cause`. A few levels at most.
 */
function* chainOf(error: unknown): Generator<{ code?: unknown; message?: unknown }> {
  let current = error;
  for (let depth = 0; typeof current === 'object' && current !== null && depth < 4; depth++) {
    const link = current as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    yield link;
    current = link.driverError ?? link.cause;
  }
}

/**
 * Whether `error`, as TypeORM or its driver throws it, means that the database cannot be reached
 * now (a refused or lost connection, a server shutting down), rather than that a query failed.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const { code, message } of chainOf(error)) {
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
  }
  return false;
}

/**
 * Runs `work`, which reads or writes the database: the database away is then
 * `StoreUnavailableError` (a 503 to retry), not the driver's error. Every service call, the
 * request path's read and the password grant's go through this one mapping.
 */
export async function unlessUnavailable<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw isDatabaseUnavailable(error) ? new StoreUnavailableError({ cause: error }) : error;
  }
}

/** Codes of a transaction that lost a deadlock or a serialization conflict: worth running again. */
const CONFLICT_CODES = new Set(['40P01', '40001', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

/** Whether `error` means the transaction lost a deadlock or a serialization conflict. */
export function isTransactionConflict(error: unknown): boolean {
  for (const { code } of chainOf(error)) if (typeof code === 'string' && CONFLICT_CODES.has(code)) return true;
  return false;
}

/** How many times a transaction runs at most when it keeps losing conflicts. */
export const TRANSACTION_ATTEMPTS = 3;

/**
 * Runs `attempt` again when it loses a deadlock or serialization conflict (it rolled back, so
 * running it again is safe), up to `TRANSACTION_ATTEMPTS` times, after a short random wait that
 * keeps the rivals from meeting again. Past that, or when the database is away, it throws
 * `unavailable(cause)`: a 503 to retry later, never a 500.
 */
export async function withConflictRetries<T>(
  attempt: () => Promise<T>,
  unavailable: (cause: unknown) => Error,
): Promise<T> {
  for (let run = 1; ; run++) {
    try {
      return await attempt();
    } catch (error) {
      if (isDatabaseUnavailable(error)) throw unavailable(error);
      if (!isTransactionConflict(error)) throw error;
      if (run >= TRANSACTION_ATTEMPTS) throw unavailable(error);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * run));
    }
  }
}
