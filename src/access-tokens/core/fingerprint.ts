import { createHmac, hash } from 'node:crypto';

/**
 * The fingerprint of a user's watched fields, with no Nest or TypeORM in it.
 *
 * Each token records the fingerprint of its user's watched fields (user name, password hash, ...)
 * at issue time; verification recomputes it from the current row. A difference means the
 * credentials changed by a path no subscriber saw (`repository.update()`, a query-builder update,
 * raw SQL). The fingerprint reads `<tag>.<hmac>`: the tag names the field list and key it was made
 * with, so that changing either leaves older tokens unchecked instead of revoking them all.
 */

/** One value as text, the same whether it came from an entity or a fresh read of the row. */
export function canonicalValue(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'boolean') return value ? '1' : '0';
  return String(value);
}

/** Whether two field values are the same once read as text. */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonicalValue(a) === canonicalValue(b);
}

export class Fingerprinter {
  private readonly tag: string;

  /**
   * @param fields the watched properties, in a fixed order.
   * @param secret the HMAC key; changing it changes the tag.
   */
  constructor(
    private readonly fields: readonly string[],
    private readonly secret: string,
  ) {
    this.tag = hash('sha256', `${fields.join('\0')}\u0001${secret}`, 'hex').slice(0, 8);
  }

  /** The fingerprint of `user`, or `null` when no field is watched. */
  of(user: object): string | null {
    if (this.fields.length === 0) return null;
    const values = this.fields.map((field) => canonicalValue((user as Record<string, unknown>)[field]));
    return `${this.tag}.${createHmac('sha256', this.secret).update(JSON.stringify(values)).digest('base64url')}`;
  }

  /**
   * Whether `stored` no longer matches `user`. A fingerprint made with another field list or key
   * (or none) cannot be compared, and does not count as stale.
   */
  isStale(stored: string | null, user: object): boolean {
    if (stored === null || !stored.startsWith(`${this.tag}.`)) return false;
    return stored !== this.of(user);
  }
}
