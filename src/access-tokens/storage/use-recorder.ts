import { Logger, type Provider } from '@nestjs/common';
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
  /** By token id: a later use of a token replaces its earlier one. */
  private readonly queued = new Map<string, TokenUse>();
  private timer: NodeJS.Timeout | null = null;
  /** The end of the chain of writes: one batch at a time. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly write: (uses: TokenUse[]) => Promise<void>) {}

  /** Queues the use; `false` if too many are waiting already, and it will not be recorded. */
  record(use: TokenUse): boolean {
    if (this.queued.size >= MAX_QUEUED && !this.queued.has(use.id)) return false;
    this.queued.set(use.id, use);
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

/** The module's `UseRecorder`, writing with `TokenQueries.recordUses`. */
export const useRecorderProvider: Provider = {
  provide: UseRecorder,
  inject: [TokenQueries],
  useFactory: (queries: TokenQueries) => new UseRecorder((uses) => queries.recordUses(uses)),
};
