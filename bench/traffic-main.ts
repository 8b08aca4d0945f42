import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { realisticTraffic } from './traffic.js';

/**
 * The realistic-traffic stage on its own, on a fresh database dropped at the end (PostgreSQL, or a
 * SQLite file with --sqlite):
 * `npm run build && npm run build:bench && node dist/bench/traffic-main.js [--quick] [--sqlite]`.
 */

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

/** A fresh database: a SQLite file, or a PostgreSQL database of its own. */
async function createDatabase(kind: 'sqlite' | 'postgres'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `nat_traffic_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  if (kind === 'sqlite') {
    const file = join(tmpdir(), `${name}.sqlite`);
    return { url: `sqlite:${file}`, drop: async () => ['', '-wal', '-shm'].forEach((suffix) => rmSync(`${file}${suffix}`, { force: true })) };
  }
  await pgAdmin(`CREATE DATABASE ${name}`);
  return { url: `postgres://postgres@127.0.0.1:5432/${name}`, drop: () => pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

const loaded = performance.now();
const log = (line: string) => process.stdout.write(`[${((performance.now() - loaded) / 1000).toFixed(0)} s] ${line}\n`);

const kind = process.argv.includes('--sqlite') ? 'sqlite' : 'postgres';
const database = await createDatabase(kind);
try {
  const { rows } = await realisticTraffic({
    url: database.url,
    kind,
    quick: process.argv.includes('--quick'),
    secret: randomBytes(32).toString('base64url'),
    log,
  });
  for (const row of rows) process.stdout.write(`${row.pass ? 'ok  ' : 'FAIL'} ${row.label}: ${row.value} (target ${row.target})\n`);
  if (rows.some((row) => !row.pass)) process.exitCode = 1;
} finally {
  await database.drop();
}
