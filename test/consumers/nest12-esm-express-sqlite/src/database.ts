import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';

/**
 * The SQLite file named by DATABASE_URL (`sqlite:/abs/path.sqlite`), or a fresh file in the temp
 * folder when it is unset.
 */
export function databaseOptions(url = process.env.DATABASE_URL): DataSourceOptions {
  if (url && !url.startsWith('sqlite:'))
    throw new Error(`DATABASE_URL must be sqlite:/path/to/file.sqlite, not ${url}`);
  const database = url
    ? url.slice('sqlite:'.length)
    : join(tmpdir(), `nest12-esm-express-sqlite-${process.pid}.sqlite`);
  return { type: 'better-sqlite3', database };
}
