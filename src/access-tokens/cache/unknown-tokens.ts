/**
 * Hashes of signed tokens the database did not know, with no Nest or TypeORM in it.
 *
 * A token with a valid MAC is one this app issued, so one the database does not know was pruned,
 * or comes from before a restored backup: rare, but nothing stops it being replayed in a flood.
 * Each hash is remembered for a few seconds, the newest `max` of them, so that such a flood costs
 * one query per hash and interval. Forged tokens never get here: their MAC fails first.
 */
export class UnknownTokens {
  /** Hash → until when (epoch ms), oldest first. */
  private readonly until = new Map<string, number>();

  /**
   * @param max the most hashes remembered.
   * @param ttl milliseconds each is remembered for: how long a token restored to the database
   *   could still be refused.
   */
  constructor(
    readonly max: number,
    readonly ttl: number,
  ) {}

  get size(): number {
    return this.until.size;
  }

  /** Whether the database did not know `hash` less than `ttl` before `now`. */
  has(hash: string, now: number): boolean {
    const until = this.until.get(hash);
    if (until === undefined) return false;
    if (until > now) return true;
    this.until.delete(hash);
    return false;
  }

  /** Remembers that the database did not know `hash` at `now`. */
  add(hash: string, now: number): void {
    this.until.delete(hash);
    this.until.set(hash, now + this.ttl);
    if (this.until.size > this.max) this.until.delete(this.until.keys().next().value!);
  }
}
