/**
 * Counts per key in windows of time, at most `max` keys: a memory store that an attacker cannot
 * grow without bound by sending new keys. Past `max`, the keys whose window has ended go first,
 * then the oldest windows. Shared by the password attempts' store and the rate limits' counter.
 */
export class BoundedWindows<Entry> {
  private readonly entries = new Map<string, Entry>();

  /** @param endsAt when an entry is over (epoch ms), and may go. */
  constructor(
    private readonly max: number,
    private readonly endsAt: (entry: Entry) => number,
  ) {}

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  /** Starts a new window for `key`, making room for it at `now` if full. */
  start(key: string, entry: Entry, now: number): void {
    // Deleted first, so that the map's order stays the order the windows started in.
    this.entries.delete(key);
    if (this.entries.size >= this.max) {
      for (const [old, kept] of this.entries) if (this.endsAt(kept) <= now) this.entries.delete(old);
      while (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as string);
    }
    this.entries.set(key, entry);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
