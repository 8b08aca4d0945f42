import type { DataSourceOptions } from 'typeorm';

const DEFAULT_URL = 'mysql://root@127.0.0.1:3306/test';

/** The MariaDB database named by DATABASE_URL (`mysql://user[:password]@host:port/db`). */
export function databaseOptions(url = process.env.DATABASE_URL ?? DEFAULT_URL): DataSourceOptions {
  if (!/^(mysql|mariadb):\/\//.test(url))
    throw new Error(`DATABASE_URL must be mysql://user@host:port/database, not ${url}`);
  // TypeORM's "mariadb" type runs on the mysql2 driver; it reads the URL itself.
  return { type: 'mariadb', url: url.replace(/^mariadb:/, 'mysql:'), charset: 'utf8mb4' };
}
