/** A canary token, as its alert names it: refused as `unknown`, and each use raises `canary_used`. */
export interface RememberedCanary {
  readonly userId: string;
  readonly tokenId: string;
  readonly name: string;
  /** `'team'` for a team's canary. */
  readonly ownerKind?: 'team';
}

/**
 * Why a signed token is refused without a query while it is remembered: `unknown`, `expired`, or
 * a canary (answered as `unknown`, each use still raising its alert).
 */
export type RememberedRefusal = 'unknown' | 'expired' | RememberedCanary;

/**
 * Hashes of signed tokens refused lately for what does not change within seconds, with no Nest or
 * TypeORM in it: `unknown` (the database did not know it), `expired` (its signed expiry is
 * past, which it stays), and canaries (which never authenticate: remembered with what their alert
 * says, so that every use within the interval still raises one, at no query).
 *
 * A token with a valid MAC is one this app issued, so one the database does not know was pruned,
 * or comes from before a restored backup: rare, but nothing stops it being replayed in a flood, as
 * nothing stops a client retrying an expired token. Each hash is remembered for `ttl`, the newest
 * `max` of them, so that such a flood costs one query (unknown) or one MAC (expired) per hash and
 * interval; within it, a hash found here is the very string that passed the MAC. Forged tokens
 * never get here: their MAC fails first.
 */
export class RefusedTokens {
  /** Hash → until when (epoch ms) and why, oldest first. */
  private readonly entries = new Map<string, { until: number; refusal: RememberedRefusal }>();

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
    return this.entries.size;
  }

  /** Why `hash` was refused less than `ttl` before `now`, if it was. */
  get(hash: string, now: number): RememberedRefusal | undefined {
    const entry = this.entries.get(hash);
    if (entry === undefined) return undefined;
    if (entry.until > now) return entry.refusal;
    this.entries.delete(hash);
    return undefined;
  }

  /** Remembers that `hash` was refused at `now`, and why. */
  add(hash: string, now: number, refusal: RememberedRefusal): void {
    this.entries.delete(hash);
    this.entries.set(hash, { until: now + this.ttl, refusal });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }
}
