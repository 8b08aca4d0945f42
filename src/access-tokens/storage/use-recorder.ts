import { Logger, type Provider } from '@nestjs/common';
import { AccessTokenEvents } from '../access-token.events.js';
import { TokenQueries, type TokenUse } from './token-queries.js';

/** Uses waiting at most this long before they are written, when fewer than a batch wait. */
const FLUSH_AFTER_MS = 1_000;
/** Uses written by one statement at most. */
const BATCH = 500;
/**
 * Uses waiting at most: past it, a use goes unrecorded (the token's next use records it) rather
 * than queueing without bound when the database falls behind.
 */
const MAX_QUEUED = 10_000;

/**
 * Collects the uses of tokens that are due to be recorded and writes them in batches, one
 * statement per batch and one batch at a time, off the request path: a request never waits for
 * it, and traffic over many tokens costs a write now and then rather than one per token.
 */
export class UseRecorder {
  private readonly logger = new Logger('TokensService');
  /** By token id: a later use of a token replaces its earlier one, keeping what only the earlier carried. */
  private readonly queued = new Map<string, TokenUse>();
  private timer: NodeJS.Timeout | null = null;
  /** The end of the chain of writes: one batch at a time. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly write: (uses: TokenUse[]) => Promise<void>) {}

  /**
   * Queues the use; `false` if too many are waiting already, and it will not be recorded. A use of
   * a token already waiting takes its place, keeping the waiting one's idle expiry, exercised
   * scopes and first use where it has none of its own: a use's time, address and user agent are the
   * latest, and a map of exercised scopes is a token's whole map, the latest holding the earlier.
   */
  record(use: TokenUse): boolean {
    const waiting = this.queued.get(use.id);
    if (!waiting && this.queued.size >= MAX_QUEUED) return false;
    this.queued.set(
      use.id,
      waiting
        ? {
            ...use,
            idleExpiresAt: use.idleExpiresAt ?? waiting.idleExpiresAt,
            scopesUsed: use.scopesUsed ?? waiting.scopesUsed,
            firstOf: use.firstOf ?? waiting.firstOf,
          }
        : use,
    );
    if (this.queued.size >= BATCH) void this.flush();
    // Unref'd: uses waiting never keep a process alive that has nothing else to do.
    else this.timer ??= setTimeout(() => void this.flush(), FLUSH_AFTER_MS).unref();
    return true;
  }

  /** Writes every use waiting now; resolves once they and those before them are written (or failed). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queued.size === 0) return this.writing;
    const uses = [...this.queued.values()];
    this.queued.clear();
    this.writing = this.writing.then(async () => {
      for (let start = 0; start < uses.length; start += BATCH) {
        const batch = uses.slice(start, start + BATCH);
        try {
          await this.write(batch);
        } catch (error) {
          this.logger.warn(
            `Could not record the use of ${batch.length} token${batch.length === 1 ? '' : 's'}: ${String(error)}`,
          );
        }
      }
    });
    return this.writing;
  }
}

/**
 * The module's `UseRecorder`, writing with `TokenQueries.recordUses`, and firing `first_used` for
 * each first use whose write changed the row: once per token, whichever instance wrote it.
 */
export const useRecorderProvider: Provider = {
  provide: UseRecorder,
  inject: [TokenQueries, AccessTokenEvents],
  useFactory: (queries: TokenQueries, events: AccessTokenEvents) =>
    new UseRecorder(async (uses) => {
      for (const { id, at, ip, userAgent, firstOf } of await queries.recordUses(uses)) {
        events.emit('first_used', {
          ...firstOf!,
          tokenId: id,
          address: ip ?? null,
          userAgent: userAgent ?? null,
          at,
        });
      }
    }),
};
