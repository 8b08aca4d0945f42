import { createHash } from 'node:crypto';
import type { DataSource, QueryBuilder } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';
import type { EntityMetadata } from 'typeorm/metadata/EntityMetadata.js';
import { AccessToken } from './access-token.entity.js';

/** The columns an alias reads, each under a short alias of its own in the result row. */
interface Part {
  metadata: EntityMetadata;
  columns: [alias: string, column: ColumnMetadata][];
}

/** SQL written once, and the order in which its named parameters bind. */
interface Statement {
  sql: string;
  order: string[];
}

/**
 * The two queries of the request path, their SQL written once: the read of every cache miss (and
 * of every request with the cache off), and the `lastUsedAt` write. TypeORM's query builder writes
 * a query's SQL anew each time it runs, which was about a fifth of a cache miss (measured). Values
 * still go through the driver and the columns' transformers both ways, as TypeORM's own loader and
 * persister do. The write fires no entity subscribers: it only records a use.
 */
export class TokenQueries {
  private readonly find: Statement;
  /** The rows of `find` for a hash: on the driver itself where it prepares statements. */
  private readonly select: (hash: string) => Promise<Record<string, unknown>[]>;
  private readonly recordUseOnly: Statement;
  private readonly recordUseAndIdle: Statement;
  private readonly token: Part;
  private readonly user: Part;
  /** The alias of the user's primary key: `null` there means the left join found no user. */
  private readonly userKey: string;
  /** The columns `recordUse` writes, whose transformer makes a `Date` what the column stores. */
  private readonly timeColumns: Record<'lastUsedAt' | 'idleExpiresAt', ColumnMetadata>;

  /** `joinCondition` joins alias `token` to alias `user`, in query-builder terms. */
  constructor(
    private readonly dataSource: DataSource,
    userEntity: object,
    joinCondition: string,
  ) {
    const part = (metadata: EntityMetadata, prefix: string): Part => ({
      metadata,
      // As TypeORM loads an entity: every column with a property of its own.
      columns: metadata.columns.filter((column) => !column.isVirtual).map((column, i) => [`${prefix}${i}`, column]),
    });
    this.token = part(dataSource.getMetadata(AccessToken), 't');
    this.user = part(dataSource.getMetadata(userEntity as new () => object), 'u');
    this.userKey = this.user.columns.find(([, column]) => column.isPrimary)![0];
    const column = (property: string) => this.token.metadata.findColumnWithPropertyName(property)!;
    this.timeColumns = { lastUsedAt: column('lastUsedAt'), idleExpiresAt: column('idleExpiresAt') };

    const find = dataSource
      .createQueryBuilder(AccessToken, 'token')
      .leftJoin(userEntity as new () => object, 'user', joinCondition)
      .select([]);
    for (const [alias, { propertyPath }] of this.token.columns) find.addSelect(`token.${propertyPath}`, alias);
    for (const [alias, { propertyPath }] of this.user.columns) find.addSelect(`user.${propertyPath}`, alias);
    this.find = written(find.where('token.tokenHash = :hash'), ['hash']);
    this.select = preparedOnDriver(dataSource, this.find.sql) ?? ((hash) => this.run(this.find, { hash }));

    const recordUse = (idle: boolean) =>
      written(
        dataSource
          .createQueryBuilder()
          .update(AccessToken)
          .set(idle ? { lastUsedAt: () => ':lastUsedAt', idleExpiresAt: () => ':idleExpiresAt' } : { lastUsedAt: () => ':lastUsedAt' })
          .where('id = :id')
          .updateEntity(false),
        idle ? ['lastUsedAt', 'idleExpiresAt', 'id'] : ['lastUsedAt', 'id'],
      );
    this.recordUseOnly = recordUse(false);
    this.recordUseAndIdle = recordUse(true);
  }

  /** The token with that hash, its `user` set (`null` if the user row is gone). */
  async findByHash(hash: string): Promise<AccessToken | null> {
    const rows = await this.select(hash);
    const row = rows[0];
    if (!row) return null;
    const token = hydrate(this.dataSource, this.token, row) as AccessToken;
    token.user = row[this.userKey] == null ? null : hydrate(this.dataSource, this.user, row);
    return token;
  }

  /** Records a use of token `id` at `at`, and pushes its idle expiry on to `idleExpiresAt` if given. */
  async recordUse(id: string, at: Date, idleExpiresAt: Date | null): Promise<void> {
    const { driver } = this.dataSource;
    const { lastUsedAt, idleExpiresAt: idle } = this.timeColumns;
    const values = {
      id,
      lastUsedAt: driver.preparePersistentValue(at, lastUsedAt),
      idleExpiresAt: idleExpiresAt && driver.preparePersistentValue(idleExpiresAt, idle),
    };
    await this.run(idleExpiresAt ? this.recordUseAndIdle : this.recordUseOnly, values);
  }

  private run({ sql, order }: Statement, values: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    return this.dataSource.query(sql, order.map((name) => values[name]));
  }
}

/** What the request path uses of the drivers TypeORM holds; typed here, as TypeORM types them `any`. */
interface PgPool {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: Record<string, unknown>[] }>;
}
interface BetterSqlite3 {
  prepare(sql: string): { all(...values: unknown[]): Record<string, unknown>[] };
}

/**
 * `sql` (one parameter) as a statement prepared once on the driver under TypeORM, for PostgreSQL
 * (`pg`, a named statement) and better-sqlite3; `null` for the others, which go through
 * `DataSource.query`. TypeORM's query runner around each query (a runner object, its connection
 * taken and given back, its events) was a fifth of a miss's CPU on PostgreSQL (measured: about
 * 30 of 140 µs a lookup); the pool and connection are TypeORM's own, and its logger still sees
 * each query, as it would from `DataSource.query`.
 */
function preparedOnDriver(dataSource: DataSource, sql: string): ((hash: string) => Promise<Record<string, unknown>[]>) | null {
  const { driver, logger } = dataSource;
  if (dataSource.options.type === 'postgres') {
    const pool = (driver as unknown as { master?: PgPool }).master;
    if (typeof pool?.query !== 'function') return null;
    const name = `nestjs_access_tokens_find_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
    return async (hash) => {
      logger.logQuery(sql, [hash]);
      return (await pool.query({ name, text: sql, values: [hash] })).rows;
    };
  }
  if (dataSource.options.type === 'better-sqlite3') {
    const statement = (driver as unknown as { databaseConnection: BetterSqlite3 }).databaseConnection.prepare(sql);
    return async (hash) => {
      logger.logQuery(sql, [hash]);
      return statement.all(hash);
    };
  }
  return null;
}

/**
 * The SQL of `query`, whose named parameters are `names`, and the order in which they bind: each
 * driver writes its own placeholders (`?`, `$1`) and may reorder what it binds.
 */
function written(query: QueryBuilder<object>, names: string[]): Statement {
  const [sql, bound] = query.setParameters(Object.fromEntries(names.map((name) => [name, name]))).getQueryAndParameters();
  return { sql, order: bound as string[] };
}

function hydrate(dataSource: DataSource, { metadata, columns }: Part, row: Record<string, unknown>): object {
  const entity = metadata.create(undefined, { fromDeserializer: true });
  for (const [alias, column] of columns) {
    const value = row[alias];
    if (value !== undefined) column.setEntityValue(entity, dataSource.driver.prepareHydratedValue(value, column));
  }
  return entity;
}
