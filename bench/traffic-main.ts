import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { realisticTraffic } from './traffic.js';
import { createDatabase } from './databases.js';

/**
 * The realistic-traffic stage on its own, on a fresh database dropped at the end (PostgreSQL, or a
 * SQLite file with --sqlite):
 * `npm run build && npm run build:bench && node dist/bench/traffic-main.js [--quick] [--sqlite]`.
 */

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
  for (const row of rows)
    process.stdout.write(`${row.pass ? 'ok  ' : 'FAIL'} ${row.label}: ${row.value} (target ${row.target})\n`);
  if (rows.some((row) => !row.pass)) process.exitCode = 1;
} finally {
  await database.drop();
}
