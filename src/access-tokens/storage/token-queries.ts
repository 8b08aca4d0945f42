import type { Provider } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { DataSource, IsNull, type QueryBuilder } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { EntityMetadata } from 'typeorm/metadata/EntityMetadata.js';
import { AccessToken } from './access-token.entity.js';
import { isSqlite } from './drivers.js';
import { TeamDirectory } from './team-directory.service.js';
import { UserDirectory } from './user-directory.service.js';

/**
 * The columns an alias reads, each under a short alias of its own in the result row, and at its
 * place in the row's values, as the query selects them (the token's, then the user's, then the team's).
 */
interface Part {
  metadata: EntityMetadata;
  columns: [alias: string, column: ColumnMetadata, index: number][];
}

/** An owner's part, with the place of its primary key: `null` there means the left join found no owner. */
interface OwnerPart extends Part {
  key: number;
}

/**
 * A use of a token to record: when, from where (its client's address and user agent, bounded), its
 * idle expiry pushed on to, if it idles out, and when each of its scopes was last exercised, if a
 * scope was exercised anew.
 */
export interface TokenUse {
  id: string;
  at: Date;
  idleExpiresAt: Date | null;
  /** The client's address (`null` or absent: unknown). */
  ip?: string | null;
  /** The client's user agent, bounded (`boundedUserAgent`); `null` or absent: none. */
  userAgent?: string | null;
  /** The token's whole map of exercised scopes (epoch ms by scope); `null` or absent leaves the stored one. */
  scopesUsed?: Readonly<Record<string, number>> | null;
  /**
   * Set for the first use of a token as far as the recorder knew (its `lastUsedAt` was `null`):
   * the owner's id (and `ownerKind: 'team'` for a team's), for the `first_used` event, which fires
   * only where the conditional write of the first use changed the row.
   */
  firstOf?: { userId: string; ownerKind?: 'team' } | null;
}

/** A row `findByHashes` found. */
export interface FoundRow {
  hash: string;
  /** Equal for two reads of the row, and of its user's, unless a column other than those each use changes changed. */
  version: string;
  token(): AccessToken;
}

/** An owner entity the verification query joins: its class, and the join from alias `token` to alias `owner`. */
export interface OwnerJoin {
  entity: object;
  condition: string;
}

/** SQL written once, and the order in which its named parameters bind. */
interface Statement {
  sql: string;
  order: string[];
}

/**
 * The queries of verification: the read of every cache miss (and of every request with the cache
 * off), its SQL written once, as TypeORM's query builder writes a query's SQL anew each time it
 * runs, which was about a fifth of a cache miss (measured); the read of many cached verifications
 * at once, to refresh them; and the batched `lastUsedAt` write. Values still go through the driver
 * and the columns' transformers both ways, as TypeORM's own loader and persister do. The write
 * fires no entity subscribers: it only records uses.
 */
export class TokenQueries {
  private readonly find: Statement;
  /** The values of the row of `find` for a hash, if any: on the driver itself where it prepares statements. */
  private readonly select: (hash: string) => Promise<readonly unknown[] | undefined>;
  private readonly token: Part;
  private readonly user: OwnerPart;
  /** The app's team entity, joined for team tokens; `null` without `teams`. */
  private readonly team: OwnerPart | null;
  /** Every alias of the query, in the order it selects them: a row by alias to its values. */
  private readonly aliases: string[];
  private readonly hashAlias: string;
  /** The aliases a row's version is made of: every column but those each use changes (`lastUsedAt`, the uses left). */
  private readonly versioned: string[];
  /** The columns `recordUses` writes, whose transformer makes a `Date` what the column stores. */
  private readonly timeColumns: Record<'lastUsedAt' | 'idleExpiresAt', ColumnMetadata>;
  /** The other columns `recordUses` writes. */
  private readonly useColumns: Record<'lastUsedIp' | 'lastUsedUserAgent' | 'scopesUsed', ColumnMetadata>;
  /**
   * The SQL of `recordUses` by padded batch length (negative: of first uses), written on first
   * use; `null` where it writes each use apart.
   */
  private readonly useStatements = new Map<number, string | null>();

  /**
   * `users` joins alias `token` to alias `user`, in query-builder terms; `teams`, if given, alias
   * `token` to alias `team`, for tokens of kind `team` only (whose `userId` is the team's id), and
   * `users` then for the other kinds only: user 5 and team 5 never meet in one row.
   */
  constructor(
    private readonly dataSource: DataSource,
    private readonly users: OwnerJoin,
    private readonly teams: OwnerJoin | null = null,
  ) {
    let selected = 0;
    const part = (metadata: EntityMetadata, prefix: string): Part => ({
      metadata,
      // As TypeORM loads an entity: every column with a property of its own.
      columns: metadata.columns
        .filter((column) => !column.isVirtual)
        .map((column, i) => [`${prefix}${i}`, column, selected++]),
    });
    const owner = (metadata: EntityMetadata, prefix: string): OwnerPart => {
      const { columns } = part(metadata, prefix);
      return { metadata, columns, key: columns.find(([, column]) => column.isPrimary)![2] };
    };
    this.token = part(dataSource.getMetadata(AccessToken), 't');
    this.user = owner(dataSource.getMetadata(users.entity as new () => object), 'u');
    this.team = teams ? owner(dataSource.getMetadata(teams.entity as new () => object), 'm') : null;
    this.aliases = [...this.token.columns, ...this.user.columns, ...(this.team?.columns ?? [])].map(([alias]) => alias);
    const column = (property: string) => this.token.metadata.findColumnWithPropertyName(property)!;
    this.timeColumns = { lastUsedAt: column('lastUsedAt'), idleExpiresAt: column('idleExpiresAt') };
    this.useColumns = {
      lastUsedIp: column('lastUsedIp'),
      lastUsedUserAgent: column('lastUsedUserAgent'),
      scopesUsed: column('scopesUsed'),
    };
    const aliasOf = (property: string) => this.token.columns.find(([, c]) => c.propertyName === property)![0];
    this.hashAlias = aliasOf('tokenHash');
    const perUse = new Set(
      ['lastUsedAt', 'lastUsedIp', 'lastUsedUserAgent', 'scopesUsed', 'usesLeft', 'usesRenewAt'].map(aliasOf),
    );
    // The team's columns are in a row's version too: a team blocked or renamed changes it.
    this.versioned = [...this.token.columns, ...this.user.columns, ...(this.team?.columns ?? [])]
      .map(([alias]) => alias)
      .filter((alias) => !perUse.has(alias));

    this.find = written(this.selectTokens().where('token.tokenHash = :hash'), ['hash']);
    this.select =
      preparedOnDriver(dataSource, this.find.sql) ??
      (async (hash) => {
        const [row] = await this.run(this.find, { hash });
        return row && this.inSelectOrder(row);
      });
  }

  /** The token with that hash, its `user` set to its owner's row, the team's for a team token (`null` if the row is gone). */
  async findByHash(hash: string): Promise<AccessToken | null> {
    const values = await this.select(hash);
    return values ? this.tokenOf(values) : null;
  }

  /**
   * The tokens with these hashes that exist, read by one query, for refreshing many cached
   * verifications at once: each with its hash, a version of its row and its user's (every column
   * but `lastUsedAt`, which each use changes), and the token as `findByHash` gives it, built only
   * when asked, since an unchanged row needs none.
   */
  async findByHashes(hashes: readonly string[]): Promise<FoundRow[]> {
    if (hashes.length === 0) return [];
    const [sql, parameters] = this.selectTokens()
      .where('token.tokenHash IN (:...hashes)', { hashes: padded(hashes) })
      .getQueryAndParameters();
    const rows = (await this.dataSource.query(sql, parameters)) as Record<string, unknown>[];
    return rows.map((row) => ({
      hash: String(row[this.hashAlias]),
      version: this.versionOf(row),
      token: () => this.tokenOf(this.inSelectOrder(row)),
    }));
  }

  /**
   * Records many uses in one statement: each token's `lastUsedAt` with the use's address and user
   * agent, its idle expiry where the use gives one, and its exercised scopes where the use carries
   * them. One statement per batch rather than one per token, so that busy traffic over
   * many tokens costs a write now and then, not one per token's first use. The batch is a list of
   * rows the table is joined to by id, one primary-key lookup a row, in SQL written once per padded
   * length. A `CASE` over the batch's ids, built by TypeORM's query builder for each batch, cost
   * the app 15 µs of CPU a use on SQLite, 24 on PostgreSQL and 18 on MariaDB in batches of 500, and
   * the database a comparison of every row with every id; this, 2.6, 3.7 and 3.4 µs (measured).
   *
   * The uses marked as tokens' first (`firstOf`) are written by a statement of their own, the same
   * but for rows whose `lastUsedAt` is still `null`, which says which rows it changed: of two
   * instances recording a token's first use at once, one changes the row (the other's use is not
   * written: it is as recent). Returns the first uses whose write changed the row, for which
   * `first_used` is due. A batch of first uses only, or of none, is still one statement.
   */
  async recordUses(uses: readonly TokenUse[]): Promise<TokenUse[]> {
    const firsts = uses.filter((use) => use.firstOf);
    const others = firsts.length === 0 ? uses : uses.filter((use) => !use.firstOf);
    const written = firsts.length === 0 ? [] : await this.recordFirsts(firsts);
    if (others.length > 0) await this.recordBatch(others);
    return written;
  }

  /**
   * Writes `firsts` where the token has no use yet; the uses it wrote. PostgreSQL and SQLite say
   * which rows an UPDATE changed (`RETURNING`); MariaDB and MySQL do not, so there the rows still
   * without a use are locked and read first (`SELECT ... FOR UPDATE`), in the write's transaction:
   * another instance's write of the same rows waits for it, then finds them used.
   */
  private async recordFirsts(firsts: readonly TokenUse[]): Promise<TokenUse[]> {
    const batch = padded(firsts);
    const sql = this.statementOf(batch.length, true);
    if (sql === null) return this.recordEach(firsts, true);
    const values = this.valuesOf(batch);
    const { type } = this.dataSource.options;
    let ids: unknown[];
    if (type === 'mysql' || type === 'mariadb') {
      ids = await this.dataSource.transaction(async (manager) => {
        const [select, parameters] = manager
          .createQueryBuilder(AccessToken, 'token')
          .select('token.id', 'id')
          .where('token.id IN (:...ids)', { ids: batch.map((use) => use.id) })
          .andWhere('token.lastUsedAt IS NULL')
          .setLock('pessimistic_write')
          .getQueryAndParameters();
        const unused = (await manager.query(select, parameters)) as { id: unknown }[];
        if (unused.length > 0) await manager.query(sql, values);
        return unused.map((row) => row.id);
      });
    } else {
      const runner = this.dataSource.createQueryRunner();
      try {
        const result = await runner.query(sql, values, true);
        ids = (result.records as { id: unknown }[]).map((row) => row.id);
      } finally {
        await runner.release();
      }
    }
    const changed = new Set(ids.map(String));
    return firsts.filter((use) => changed.has(use.id));
  }

  private async recordBatch(uses: readonly TokenUse[]): Promise<void> {
    const batch = padded(uses);
    const sql = this.statementOf(batch.length, false);
    if (sql === null) {
      await this.recordEach(uses, false);
      return;
    }
    await this.dataSource.query(sql, this.valuesOf(batch));
  }

  /** The SQL of `writeUses(length, firsts)`, written once. */
  private statementOf(length: number, firsts: boolean): string | null {
    const key = firsts ? -length : length;
    let sql = this.useStatements.get(key);
    if (sql === undefined) {
      sql = this.writeUses(length, firsts);
      this.useStatements.set(key, sql);
    }
    return sql;
  }

  /** The parameters of a statement of `writeUses` for `batch`, row by row. */
  private valuesOf(batch: readonly TokenUse[]): unknown[] {
    const { lastUsedAt, idleExpiresAt } = this.timeColumns;
    const { lastUsedIp, lastUsedUserAgent, scopesUsed } = this.useColumns;
    const values: unknown[] = [];
    for (const use of batch) {
      values.push(
        use.id,
        this.stored(use.at, lastUsedAt),
        use.idleExpiresAt && this.stored(use.idleExpiresAt, idleExpiresAt),
        this.stored(use.ip ?? null, lastUsedIp),
        this.stored(use.userAgent ?? null, lastUsedUserAgent),
        use.scopesUsed ? this.stored(use.scopesUsed, scopesUsed) : null,
      );
    }
    return values;
  }

  /**
   * The statement of `recordUses` for `length` rows of (id, time of use, idle expiry or null,
   * address, user agent, exercised scopes or null), in the dialect of the driver: an
   * `UPDATE ... FROM (VALUES ...)` on PostgreSQL and SQLite (3.33 or later), a join to a
   * `UNION ALL` of the rows on MariaDB and MySQL; `null` for other databases. A `null` idle expiry
   * or map of scopes leaves the stored one; the address and user agent are the use's, `null` too.
   * With `firsts`, only rows without a use are written, and on PostgreSQL and SQLite (3.35 or
   * later) their ids returned.
   */
  private writeUses(length: number, firsts: boolean): string | null {
    const { driver } = this.dataSource;
    const { metadata } = this.token;
    const q = (name: string) => driver.escape(name);
    // As TypeORM's query builder names a table: each part of its path (schema, table) escaped.
    const table = metadata.tablePath.split('.').map(q).join('.');
    const id = q(metadata.findColumnWithPropertyName('id')!.databaseName);
    const { lastUsedAt, idleExpiresAt } = this.timeColumns;
    const { lastUsedIp, lastUsedUserAgent, scopesUsed } = this.useColumns;
    // The columns of a row of the batch, in the order `valuesOf` binds them: each with its name
    // in the list of rows, the column it sets, and whether `null` leaves the stored value.
    const fields: [name: string, column: ColumnMetadata, keep: boolean][] = [
      ['id', metadata.findColumnWithPropertyName('id')!, false],
      ['at', lastUsedAt, false],
      ['idle', idleExpiresAt, true],
      ['ip', lastUsedIp, false],
      ['agent', lastUsedUserAgent, false],
      ['scopes', scopesUsed, true],
    ];
    const width = fields.length;
    const [token, v] = [q('token'), q('v')];
    const unused = firsts ? ` AND ${token}.${q(lastUsedAt.databaseName)} IS NULL` : '';
    const rows = (row: (i: number) => string) => Array.from({ length }, (_, i) => row(i));
    /** The SET list, `name(i)` naming the list's i-th column, `target` prefixing the columns set. */
    const set = (name: (i: number) => string, target: string) =>
      fields
        .slice(1)
        .map(([, column, keep], i) => {
          const to = q(column.databaseName);
          const from = `${v}.${name(i + 1)}`;
          return `${target}${to} = ${keep ? `COALESCE(${from}, ${token}.${to})` : from}`;
        })
        .join(', ');
    const { type } = this.dataSource.options;
    if (type === 'postgres') {
      // PostgreSQL types a VALUES list by its first row, whose parameters would be text.
      const first = `(${fields.map(([, column], i) => `CAST($${i + 1} AS ${driver.normalizeType(column)})`).join(', ')})`;
      const placeholders = (i: number) => `(${fields.map((_, j) => `$${width * i + j + 1}`).join(', ')})`;
      const list = [first, ...rows(placeholders).slice(1)].join(', ');
      const names = fields.map(([name]) => q(name));
      const returning = firsts ? ` RETURNING ${token}.${id} AS ${q('id')}` : '';
      return `UPDATE ${table} AS ${token} SET ${set((i) => names[i]!, '')} FROM (VALUES ${list}) AS ${v} (${names.join(', ')}) WHERE ${token}.${id} = ${v}.${names[0]}${unused}${returning}`;
    }
    if (isSqlite(this.dataSource)) {
      // SQLite names the columns of a VALUES list column1, column2, ...; its RETURNING names the
      // updated table's columns alone.
      const list = rows(() => `(${fields.map(() => '?').join(', ')})`).join(', ');
      const returning = firsts ? ` RETURNING ${id} AS ${q('id')}` : '';
      return `UPDATE ${table} AS ${token} SET ${set((i) => q(`column${i + 1}`), '')} FROM (VALUES ${list}) AS ${v} WHERE ${token}.${id} = ${v}.${q('column1')}${unused}${returning}`;
    }
    if (type === 'mysql' || type === 'mariadb') {
      const list = [
        `SELECT ${fields.map(([name]) => `? AS ${q(name)}`).join(', ')}`,
        ...rows(() => `SELECT ${fields.map(() => '?').join(', ')}`).slice(1),
      ].join(' UNION ALL ');
      return `UPDATE ${table} AS ${token} JOIN (${list}) AS ${v} ON ${token}.${id} = ${v}.${q('id')} SET ${set((i) => q(fields[i]![0]), `${token}.`)}${firsts ? ` WHERE${unused.slice(4)}` : ''}`;
    }
    return null;
  }

  /**
   * `recordUses` on a database whose dialect it does not write: an UPDATE per use, in one
   * transaction; with `firsts`, each only where the token has no use yet. The uses that changed a
   * row: `UpdateResult.affected` counts the rows an UPDATE changed, or on some drivers matched,
   * which are the same here, as the write sets what the condition asks to be `null`.
   */
  private async recordEach(uses: readonly TokenUse[], firsts: boolean): Promise<TokenUse[]> {
    return this.dataSource.transaction(async (manager) => {
      const written: TokenUse[] = [];
      for (const use of uses) {
        const { id, at, idleExpiresAt, ip, userAgent, scopesUsed } = use;
        const result = await manager
          .createQueryBuilder()
          .update(AccessToken)
          .set({
            lastUsedAt: at,
            lastUsedIp: ip ?? null,
            lastUsedUserAgent: userAgent ?? null,
            ...(idleExpiresAt && { idleExpiresAt }),
            ...(scopesUsed && { scopesUsed: { ...scopesUsed } }),
          })
          .where(firsts ? { id, lastUsedAt: IsNull() } : { id })
          .callListeners(false)
          .updateEntity(false)
          .execute();
        if (result.affected === 1) written.push(use);
      }
      return written;
    });
  }

  /** `value` as `column` stores it, through the column's transformer (a `Date`, a JSON column's object). */
  private stored(value: unknown, column: ColumnMetadata): unknown {
    return this.dataSource.driver.preparePersistentValue(value, column);
  }

  /**
   * Every column of the token and of its owner (left-joined), each under its alias in `Part`. With
   * teams, two left joins, each conditioned on the token's kind, so that one row holds the token and
   * its user or its team, never both.
   */
  private selectTokens() {
    const { users, teams, team } = this;
    const query = this.dataSource
      .createQueryBuilder(AccessToken, 'token')
      .leftJoin(users.entity as new () => object, 'user', users.condition)
      .select([]);
    if (teams) query.leftJoin(teams.entity as new () => object, 'team', teams.condition);
    for (const [alias, { propertyPath }] of this.token.columns) query.addSelect(`token.${propertyPath}`, alias);
    for (const [alias, { propertyPath }] of this.user.columns) query.addSelect(`user.${propertyPath}`, alias);
    for (const [alias, { propertyPath }] of team?.columns ?? []) query.addSelect(`team.${propertyPath}`, alias);
    return query;
  }

  private versionOf(row: Record<string, unknown>): string {
    let text = '';
    for (const alias of this.versioned) {
      const value = row[alias];
      // Drivers give text, numbers, booleans, dates and null, and objects for JSON columns. A NUL
      // in a value is doubled, so that the single NUL after each value cannot be confused with it.
      if (value === null || value === undefined) text += '\u0001';
      else if (typeof value === 'object' && !(value instanceof Date)) text += JSON.stringify(value);
      else text += String(value).replaceAll('\u0000', '\u0000\u0000');
      text += '\u0000';
    }
    return createHash('sha256').update(text).digest('base64').slice(0, 22);
  }

  /** A row of the query by alias, as its values in the order it selects them. */
  private inSelectOrder(row: Record<string, unknown>): unknown[] {
    return this.aliases.map((alias) => row[alias]);
  }

  /** The token of a row's values (in the order the query selects them), with its owner. */
  private tokenOf(values: readonly unknown[]): AccessToken {
    const token = hydrate(this.dataSource, this.token, values) as AccessToken;
    const owner = token.kind === 'team' ? this.team : this.user;
    token.user = owner === null || values[owner.key] == null ? null : hydrate(this.dataSource, owner, values);
    return token;
  }

  private run({ sql, order }: Statement, values: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    return this.dataSource.query(
      sql,
      order.map((name) => values[name]),
    );
  }
}

/** The module's `TokenQueries`, on the app's DataSource, user entity and team entity, if any. */
export const tokenQueriesProvider: Provider = {
  provide: TokenQueries,
  inject: [DataSource, UserDirectory, TeamDirectory],
  useFactory: (dataSource: DataSource, users: UserDirectory, teams: TeamDirectory) =>
    new TokenQueries(
      dataSource,
      {
        entity: users.entity,
        condition: users.joinCondition('token', 'user', teams.enabled ? "token.kind <> 'team'" : undefined),
      },
      teams.enabled ? { entity: teams.entity, condition: teams.joinCondition('token', 'team') } : null,
    ),
};

/** The lengths a list of ids or hashes is padded to before it is written into SQL. */
const PADDED_LENGTHS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/**
 * `list` lengthened to the next of PADDED_LENGTHS by repeating its last item, which changes
 * nothing in an `IN (...)`, nor in the rows an UPDATE joins (a row matched twice by the same
 * values is updated to them, whichever match the database takes): a
 * batched statement's SQL then takes one of ten shapes whatever the batch's size, rather than one
 * per size, each of which a driver or TypeORM would prepare and cache anew (TypeORM keeps the 100
 * latest of better-sqlite3's, the app's own queries among them).
 */
function padded<T>(list: readonly T[]): readonly T[] {
  const length = PADDED_LENGTHS.find((candidate) => candidate >= list.length) ?? list.length;
  return length === list.length ? list : [...list, ...Array.from({ length: length - list.length }, () => list.at(-1)!)];
}

/** What the request path uses of the drivers TypeORM holds; typed here, as TypeORM types them `any`. */
interface PgPool {
  query(config: { name: string; text: string; values: unknown[]; rowMode: 'array' }): Promise<{ rows: unknown[][] }>;
}
interface BetterSqlite3 {
  prepare(sql: string): { raw(raw: true): { get(...values: unknown[]): unknown[] | undefined } };
}

/**
 * `sql` (one parameter) as a statement prepared once on the driver under TypeORM, for PostgreSQL
 * (`pg`, a named statement) and better-sqlite3; `null` for the others, which go through
 * `DataSource.query`. TypeORM's query runner around each query (a runner object, its connection
 * taken and given back, its events) was a fifth of a miss's CPU on PostgreSQL (measured: about
 * 30 of 140 µs a lookup); the pool and connection are TypeORM's own, and its logger still sees
 * each query, as it would from `DataSource.query`. The row comes as an array of its values, in
 * the order the query selects them: better-sqlite3 and `pg` make an object of a row by setting
 * each of its columns by name (41 with teams), and the hydration then read each back by name; on
 * SQLite, `TokensService.verify()` of a miss went from about 5 to about 4 times the raw lookup of
 * bench/server.ts (measured, same process).
 */
function preparedOnDriver(
  dataSource: DataSource,
  sql: string,
): ((hash: string) => Promise<readonly unknown[] | undefined>) | null {
  const { driver, logger } = dataSource;
  if (dataSource.options.type === 'postgres') {
    const pool = (driver as unknown as { master?: PgPool }).master;
    if (typeof pool?.query !== 'function') return null;
    const name = `nestjs_access_tokens_find_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
    return async (hash) => {
      logger.logQuery(sql, [hash]);
      // The hash is unique: its first row is its only one.
      return (await pool.query({ name, text: sql, values: [hash], rowMode: 'array' })).rows[0];
    };
  }
  if (dataSource.options.type === 'better-sqlite3') {
    const statement = (driver as unknown as { databaseConnection: BetterSqlite3 }).databaseConnection
      .prepare(sql)
      .raw(true);
    return async (hash) => {
      logger.logQuery(sql, [hash]);
      // The hash is unique: its first row is its only one, without a step more to find so.
      return statement.get(hash);
    };
  }
  return null;
}

/**
 * The SQL of `query`, whose named parameters are `names`, and the order in which they bind: each
 * driver writes its own placeholders (`?`, `$1`) and may reorder what it binds.
 */
function written(query: QueryBuilder<object>, names: string[]): Statement {
  const [sql, bound] = query
    .setParameters(Object.fromEntries(names.map((name) => [name, name])))
    .getQueryAndParameters();
  return { sql, order: bound as string[] };
}

function hydrate(dataSource: DataSource, { metadata, columns }: Part, values: readonly unknown[]): object {
  const entity = metadata.create(undefined, { fromDeserializer: true });
  const { driver } = dataSource;
  for (const [, column, index] of columns) {
    const value = values[index];
    if (value !== undefined) column.setEntityValue(entity, driver.prepareHydratedValue(value, column));
  }
  return entity;
}
