import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The databases a bench stage runs on. */
export type BenchDatabaseKind = 'sqlite' | 'postgres';

const PG_ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };

async function pgAdmin(sql: string): Promise<void> {
  const client = new pg.Client(PG_ADMIN);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A fresh database named `<prefix>_<time>_<random>`: a SQLite file in the OS temp directory, or a
 * PostgreSQL database of its own. `drop()` removes it, with the SQLite file's companions (WAL, and
 * the demo's secret file).
 */
export async function createDatabase(
  kind: BenchDatabaseKind,
  prefix = 'nat_bench',
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  if (kind === 'sqlite') {
    const file = join(tmpdir(), `${name}.sqlite`);
    return {
      url: `sqlite:${file}`,
      drop: async () =>
        ['', '-wal', '-shm', '.token-secret'].forEach((suffix) => rmSync(`${file}${suffix}`, { force: true })),
    };
  }
  await pgAdmin(`CREATE DATABASE ${name}`);
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    drop: () => pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
