import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessToken } from './access-token.entity.js';
import { unlessUnavailable } from './outage.js';

/** A token's quota as a refusal reads it. */
export interface QuotaState {
  /** `null`: the token has no quota (any more): the use is allowed. */
  maxUses: number | null;
  /** When its uses are restored, epoch ms, or `null` for never. */
  renewAt: number | null;
}

/**
 * The quota of uses of tokens with `maxUses`: exact across instances and restarts, since each use
 * is one atomic conditional decrement in the database. Two instances racing for the last use both
 * send it; the database applies one, and the other changes no row: never a use beyond the quota.
 */
@Injectable()
export class UseQuota {
  private readonly takeSql: string;
  private readonly stateSql: string;
  /** How the statements' parameters bind: PostgreSQL numbers them, the others repeat them. */
  private readonly numbered: boolean;

  constructor(private readonly dataSource: DataSource) {
    const { driver } = dataSource;
    const metadata = dataSource.getMetadata(AccessToken);
    const q = (name: string) => driver.escape(name);
    const column = (property: string) => q(metadata.findColumnWithPropertyName(property)!.databaseName);
    const table = metadata.tablePath.split('.').map(q).join('.');
    const [id, left, max, renew] = ['id', 'usesLeft', 'maxUses', 'usesRenewAt'].map(column);
    this.numbered = dataSource.options.type === 'postgres';
    const [now, next, key] = this.numbered ? ['$1', '$2', '$3'] : ['?', '?', '?'];
    // `uses_left` is set first: MariaDB and MySQL evaluate a single-table UPDATE's assignments left
    // to right, each seeing the ones before; the restore condition reads `uses_renew_at` as it was.
    const restore = `${renew} <= ${now}`;
    this.takeSql =
      `UPDATE ${table} SET ${left} = CASE WHEN ${restore} THEN ${max} - 1 ELSE ${left} - 1 END, ` +
      `${renew} = CASE WHEN ${restore} THEN ${next} ELSE ${renew} END ` +
      `WHERE ${id} = ${key} AND (${left} > 0 OR ${restore})`;
    this.stateSql = `SELECT ${max} AS ${q('max')}, ${renew} AS ${q('renew')} FROM ${table} WHERE ${id} = ${this.numbered ? '$1' : '?'}`;
  }

  /**
   * Takes one use of token `id` at `now`, restoring its uses first when `renewAt` of its row is
   * past (the next restore is then `now` plus `periodMs`). Resolves whether a use was left.
   */
  async take(id: string, now: number, periodMs: number | null): Promise<boolean> {
    const next = periodMs === null ? null : now + periodMs;
    const parameters = this.numbered ? [now, next, id] : [now, now, next, id, now];
    return unlessUnavailable(async () => {
      const runner = this.dataSource.createQueryRunner();
      try {
        const result = await runner.query(this.takeSql, parameters, true);
        return (result as { affected?: number }).affected === 1;
      } finally {
        await runner.release();
      }
    });
  }

  /** The quota of token `id` as it is now, for a refusal to say when to come back; `null` if the token is gone. */
  async state(id: string): Promise<QuotaState | null> {
    return unlessUnavailable(async () => {
      const rows = (await this.dataSource.query(this.stateSql, [id])) as { max: unknown; renew: unknown }[];
      const row = rows[0];
      if (!row) return null;
      return {
        maxUses: row.max === null ? null : Number(row.max),
        renewAt: row.renew === null ? null : Number(row.renew),
      };
    });
  }
}
