import { JwtService } from '@nestjs/jwt';
import autocannon from 'autocannon';
import bcrypt from 'bcrypt';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { Fingerprinter } from '../src/access-tokens/core/fingerprint.js';
import { deriveKeys, signingKeys } from '../src/access-tokens/core/keys.js';
import { generateToken, hashToken, tokenHint } from '../src/access-tokens/core/token-format.js';
import { connectionFromUrl, schema } from '../src/database.js';
import { User } from '../src/users/user.entity.js';
import { BENCH_JWT_SECRET } from './bench.constants.js';
import { startServer, type ServerProcess } from './server-process.js';

/**
 * `npm run bench [-- --quick]`: the demo API in its own process under autocannon (-c100 -p10), on
 * SQLite and PostgreSQL with 1k, 100k and 1M tokens in the table, on Express and (the unguarded,
 * token and reference routes) on Fastify; writes bench/RESULTS.md.
 */

const QUICK = process.argv.includes('--quick');
const PLAN = QUICK
  ? { sizes: [1_000], warmup: 1, seconds: 2, rounds: 1, offRounds: 1, distinct: 15_000, revocations: 10 }
  : { sizes: [1_000, 100_000, 1_000_000], warmup: 1, seconds: 2, rounds: 5, offRounds: 3, distinct: 1_000_000, revocations: 100 };
const PG_ADMIN = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };
/** Valid tokens a row cycles through; autocannon starts each connection at the first. */
const POOL = 100;
const CONNECTIONS = 100;
const BATCH = 1_000;
const HEALTH = 'GET /health (no guard)';
const REFERENCE = 'GET /reference/me, SHA-256 + Map guard';

/** The HTTP servers the demo runs on (HTTP_ADAPTER), as the table names them. */
const SERVERS = { express: 'Express', fastify: 'Fastify' } as const;
type Server = keyof typeof SERVERS;

interface Row {
  db: string;
  tokens: number;
  server: Server;
  route: string;
  cache: string;
  rps: number;
  p50: number;
  p99: number;
  ratio: number;
  queriesPer1000: number;
  non2xx: number;
}

interface Seeded {
  raw: string;
  id: string;
}

const loaded = performance.now();
/** A progress line, with the minutes since the start: the full run must stay under 20. */
const log = (line: string) => process.stdout.write(`[${((performance.now() - loaded) / 60_000).toFixed(1)} min] ${line}\n`);

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
  const name = `nat_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  if (kind === 'sqlite') {
    const file = join(tmpdir(), `${name}.sqlite`);
    return { url: `sqlite:${file}`, drop: async () => ['', '-wal', '-shm'].forEach((suffix) => rmSync(`${file}${suffix}`, { force: true })) };
  }
  await pgAdmin(`CREATE DATABASE ${name}`);
  return { url: `postgres://postgres@127.0.0.1:5432/${name}`, drop: () => pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * Inserts tokens for `user` until the table holds `size`, one multi-row INSERT per batch; returns
 * the raw tokens added.
 */
async function seed(dataSource: DataSource, user: User, from: number, size: number): Promise<Seeded[]> {
  const fingerprint = new Fingerprinter(['username', 'passwordHash'], [KEYS.current.fingerprint]).of(user);
  const columns = 'id, user_id, kind, name, token_hash, hint, scopes, created_at, expires_at, lifetime, fingerprint';
  const width = columns.split(',').length;
  const placeholder = dataSource.options.type === 'postgres' ? (i: number) => `$${i + 1}` : () => '?';
  const added: Seeded[] = [];
  // Whole seconds, as the module stores them: the signed expiry and the stored one agree.
  const now = Math.floor(Date.now() / 1000) * 1000;
  for (let start = from; start < size; start += BATCH) {
    const values: unknown[] = [];
    for (let i = start; i < Math.min(size, start + BATCH); i++) {
      const raw = generateToken('nat', KEYS.current, now + 30 * 86_400_000);
      const id = randomUUID();
      added.push({ raw, id });
      values.push(id, String(user.id), 'personal', `bench ${i}`, hashToken(raw), tokenHint(raw), '["*"]', now, now + 30 * 86_400_000, 30 * 86_400, fingerprint);
    }
    const rows = Array.from({ length: values.length / width }, (_, row) => `(${Array.from({ length: width }, (_, column) => placeholder(row * width + column)).join(', ')})`);
    await dataSource.query(`INSERT INTO access_tokens (${columns}) VALUES ${rows.join(', ')}`, values);
  }
  return added;
}

/**
 * Adds `count` rows of tokens nobody holds, made by the database itself: they only make the table
 * big, and SQL makes a million of them in seconds where inserts through TypeORM take minutes.
 */
async function fill(dataSource: DataSource, kind: 'sqlite' | 'postgres', userId: number, count: number): Promise<void> {
  if (count <= 0) return;
  const now = Date.now();
  const values = `'${userId}', 'personal', 'filler ' || i, %HASH%, 'nat_…', '["*"]', ${now}, ${now + 30 * 86_400_000}, ${30 * 86_400}`;
  const columns = 'id, user_id, kind, name, token_hash, hint, scopes, created_at, expires_at, lifetime';
  await dataSource.query(
    kind === 'sqlite'
      ? `INSERT INTO access_tokens (${columns}) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count}) ` +
          `SELECT lower(hex(randomblob(16))), ${values.replace('%HASH%', 'lower(hex(randomblob(32)))')} FROM n`
      : `INSERT INTO access_tokens (${columns}) SELECT gen_random_uuid()::text, ${values.replace('%HASH%', 'md5(random()::text) || md5(random()::text)')} ` +
          `FROM generate_series(1, ${count}) AS i`,
  );
}

interface Stats {
  queries: number;
  rss: number;
}

/** The server's counters; RSS after a full garbage collection when `collect`. */
async function stats(server: ServerProcess, collect = false): Promise<Stats> {
  return (await fetch(`${server.url}/__bench/stats${collect ? '?gc=1' : ''}`)).json() as Promise<Stats>;
}

/** The servers' secret, new each run; the bench signs the tokens it seeds with it. */
const SECRET = randomBytes(32).toString('base64url');
const KEYS = signingKeys([SECRET]);
const start = (env: Record<string, string>) => startServer({ NODE_ENV: 'production', TOKEN_SECRET: SECRET, ...env }, 'dist/bench/server.js', ['--expose-gc']);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the server has run no query for a moment (writes left over from a warm-up). */
async function quiet(server: ServerProcess): Promise<void> {
  let last = -1;
  for (let i = 0; i < 200; i++) {
    const { queries } = await stats(server);
    if (queries === last) return;
    last = queries;
    await pause(50);
  }
}

/**
 * What autocannon sends to `path`. With `tokens`, requests cycle through them, each encoded once up
 * front so that autocannon, which shares the machine, spends no more per request than on the
 * unguarded route.
 */
function load(server: ServerProcess, path: string, tokens: string[] | null) {
  return {
    url: server.url,
    connections: CONNECTIONS,
    pipelining: 10,
    requests: (tokens ?? [null]).map((token) => ({
      method: 'GET' as const,
      path,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    })),
  };
}

/** Warms the server up on `path`. */
async function warm(server: ServerProcess, path: string, tokens: string[] | null): Promise<void> {
  await autocannon({ ...load(server, path, tokens), duration: PLAN.warmup });
}

/**
 * Drives `path` for the plan's duration; counts the queries it cost. `hot` first sends every token
 * on every connection once, so that the run measures cache hits: the re-reads past the cache TTL
 * and the `lastUsedAt` writes due since the last run fall in that pass.
 */
async function drive(server: ServerProcess, path: string, tokens: string[] | null, hot: boolean) {
  if (hot && tokens) await autocannon({ ...load(server, path, tokens), amount: CONNECTIONS * tokens.length });
  await quiet(server);
  const before = await stats(server);
  const result = await autocannon({ ...load(server, path, tokens), duration: PLAN.seconds });
  // The requests still in flight when autocannon stops are answered (and query) after it returns.
  await quiet(server);
  const after = await stats(server);
  // autocannon stops with CONNECTIONS × 10 requests in flight, which the server answers (and
  // queries for) but autocannon does not count: they are counted here.
  const served = result.requests.total + CONNECTIONS * 10;
  return { result, queries: after.queries - before.queries, served };
}

async function scenarios(kind: string, size: number, url: string, pool: string[], jwt: string): Promise<Row[]> {
  const rows: Row[] = [];
  // Signed with the servers' secret, but in no table: pruned tokens, say.
  const unknown = Array.from({ length: POOL }, () => generateToken('nat', KEYS.current, null));
  const garbage = unknown.map((token) => `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`);
  // Right in all a forger can get right (form and CRC32), signed with a secret the servers lack.
  const forger = deriveKeys(randomBytes(32).toString('base64url'));
  const forged = Array.from({ length: POOL }, () => generateToken('nat', forger, null));
  const expired = Array.from({ length: POOL }, () => generateToken('nat', KEYS.current, Date.now() - 60_000));
  // Neither reads the table: measured at one size only, to keep the full run's time.
  const refusedBeforeLookup: [string, string, string[]][] =
    size === PLAN.sizes[0] ? [['forged token (401)', '/users/me', forged], ['expired signed token (401)', '/users/me', expired]] : [];
  const valid: [string, string, string[]] = ['GET /users/me, valid token', '/users/me', pool];
  // Every route on Express. On Fastify, the unguarded route, the token route and the reference
  // guard, each against Fastify's own /health, at the largest table only: with the cache on, none
  // of them reads the table in its measured runs, and the full run must stay under 20 minutes.
  const servers: { adapter: Server; cache: 'on' | 'off'; rounds: number; routes: [string, string, string[] | null][] }[] = [
    {
      adapter: 'express', cache: 'on', rounds: PLAN.rounds,
      routes: [[HEALTH, '/health', null], valid, [REFERENCE, '/reference/me', pool], ['GET /jwt/me, JWT guard', '/jwt/me', [jwt]], ['garbage token (401)', '/users/me', garbage], ...refusedBeforeLookup, ['unknown token (401)', '/users/me', unknown]],
    },
    { adapter: 'express', cache: 'off', rounds: PLAN.offRounds, routes: [valid, ['unknown token (401)', '/users/me', unknown]] },
  ];
  if (size === PLAN.sizes.at(-1)) {
    servers.push({ adapter: 'fastify', cache: 'on', rounds: PLAN.rounds, routes: [[HEALTH, '/health', null], valid, [REFERENCE, '/reference/me', pool]] });
  }
  for (const { adapter, cache, rounds, routes } of servers) {
    const server = await start({ DATABASE_URL: url, TOKEN_CACHE: cache, HTTP_ADAPTER: adapter });
    try {
      // The machine is shared with autocannon, and its speed drifts by ±20% within seconds: routes
      // take turns in short runs, in an order that rotates each round, and a row's ratio is the
      // median over rounds of its req/s to /health's in the same round.
      for (const [, path, tokens] of routes) await warm(server, path, tokens);
      const runs = new Map<string, Awaited<ReturnType<typeof drive>>[]>();
      for (let round = 0; round < rounds; round++) {
        for (let turn = 0; turn < routes.length; turn++) {
          const [route, path, tokens] = routes[(round + turn) % routes.length]!;
          runs.set(route, [...(runs.get(route) ?? []), await drive(server, path, tokens, cache === 'on' && tokens === pool && route !== REFERENCE)]);
        }
      }
      const floor = runs.get(HEALTH);
      for (const [route, path] of routes) {
        const measured = runs.get(route)!;
        const { result, queries, served } = [...measured].sort((x, y) => x.result.requests.average - y.result.requests.average)[Math.floor(measured.length / 2)]!;
        const ratios = floor ? measured.map((run, round) => run.result.requests.average / floor[round]!.result.requests.average) : [];
        const ratio = floor ? median(ratios) : 0;
        rows.push({
          db: kind, tokens: size, server: adapter, route, cache: path === '/users/me' ? cache : '—',
          rps: Math.round(result.requests.average), p50: result.latency.p50, p99: result.latency.p99, ratio,
          queriesPer1000: Math.round((queries / served) * 1000 * 10) / 10, non2xx: result.non2xx,
        });
        log(`${kind} ${size} ${SERVERS[adapter]} cache ${cache} ${route}: ${Math.round(result.requests.average)} req/s (${ratio.toFixed(2)}; rounds ${ratios.map((r) => r.toFixed(2)).join(' ')}), p50 ${result.latency.p50} ms, ${queries} queries / ${served}, non-2xx ${result.non2xx}`);
      }
    } finally {
      await server.stop();
    }
  }
  return rows;
}

/** RSS of a server that verified `tokens` distinct tokens once each, measured along the way. */
async function memory(url: string, tokens: string[]): Promise<{ verified: number; rss: number }[]> {
  const server = await start({ DATABASE_URL: url });
  try {
    const points = [{ verified: 0, rss: (await stats(server, true)).rss }];
    const marks = [...new Set([20_000, Math.floor(tokens.length / 5), Math.floor(tokens.length / 2), tokens.length])].filter((mark) => mark <= tokens.length).sort((x, y) => x - y);
    let done = 0;
    for (const mark of marks) {
      const slice = tokens.slice(done, mark);
      let next = 0;
      await autocannon({
        url: server.url, connections: 100, pipelining: 10, amount: slice.length,
        requests: [{ method: 'GET', path: '/users/me', setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${slice[next++ % slice.length]}` } }) }],
      });
      done = mark;
      points.push({ verified: mark, rss: (await stats(server, true)).rss });
      log(`memory: ${mark} distinct tokens verified, RSS ${Math.round(points.at(-1)!.rss / 1e6)} MB`);
    }
    return points;
  } finally {
    await server.stop();
  }
}

/** Milliseconds from a revocation answered by instance A to the first 401 from instance B. */
async function crossInstance(url: string, bus: string, tokens: Seeded[], manager: string): Promise<number[]> {
  const env = { DATABASE_URL: url, TOKEN_CACHE_BUS: bus };
  const [a, b] = [await start(env), await start(env)];
  try {
    const delays: number[] = [];
    for (const token of tokens) {
      const ask = () => fetch(`${b.url}/users/me`, { headers: { authorization: `Bearer ${token.raw}` } }).then((r) => r.status);
      if ((await ask()) !== 200) throw new Error('a bench token was refused before its revocation');
      const revoked = await fetch(`${a.url}/tokens/${token.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${manager}` } });
      if (revoked.status !== 204) throw new Error(`revocation answered ${revoked.status}`);
      const start = performance.now();
      while ((await ask()) !== 401) {
        if (performance.now() - start > 15_000) throw new Error('the revocation never reached the other instance');
      }
      delays.push(performance.now() - start);
    }
    return delays;
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

/** The middle value; the mean of the two middle ones for an even count. */
const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const percentile = (values: number[], p: number) => [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.ceil((p / 100) * values.length) - 1)]!;

async function main(): Promise<void> {
  const began = performance.now();
  const rows: Row[] = [];
  let memoryPoints: { verified: number; rss: number }[] = [];
  const delays: Record<string, number[]> = {};
  const versions: string[] = [];

  for (const kind of ['sqlite', 'postgres'] as const) {
    const database = await createDatabase(kind);
    const dataSource = new DataSource({ ...connectionFromUrl(database.url), entities: [...schema.entities], migrations: [...schema.migrations] });
    try {
      await dataSource.initialize();
      await dataSource.runMigrations();
      versions.push(kind === 'sqlite' ? `SQLite ${(await dataSource.query('select sqlite_version() as v'))[0].v}` : String((await dataSource.query('select version() as v'))[0].v).split(',')[0]!);
      const user = await dataSource.getRepository(User).save({ username: 'bench', passwordHash: await bcrypt.hash('bench password', 10), blocked: false, isAdmin: false });
      const jwt = new JwtService({ secret: BENCH_JWT_SECRET }).sign({ sub: user.id, username: user.username });
      const seeded: Seeded[] = await seed(dataSource, user, 0, POOL);
      let inTable = POOL;
      for (const size of PLAN.sizes) {
        const started = performance.now();
        await fill(dataSource, kind, user.id, size - inTable);
        inTable = size;
        log(`${kind}: ${size} tokens in the table (${Math.round((performance.now() - started) / 1000)} s to seed)`);
        rows.push(...(await scenarios(kind, size, database.url, seeded.slice(0, POOL).map((s) => s.raw), jwt)));
      }
      // The later stages need tokens of their own, which the scenarios never presented.
      const needed = kind === 'sqlite' ? PLAN.distinct : POOL + 2 * PLAN.revocations;
      if (seeded.length < needed) for (const token of await seed(dataSource, user, seeded.length, needed)) seeded.push(token);
      if (kind === 'sqlite') memoryPoints = await memory(database.url, seeded.slice(0, PLAN.distinct).map((s) => s.raw));
      if (kind === 'postgres') {
        const victims = seeded.slice(POOL, POOL + 2 * PLAN.revocations);
        const manager = seeded[0]!.raw;
        delays['PostgreSQL LISTEN/NOTIFY'] = await crossInstance(database.url, 'postgres', victims.slice(0, PLAN.revocations), manager);
        delays['Redis pub/sub'] = await crossInstance(database.url, 'redis://127.0.0.1:6379', victims.slice(PLAN.revocations), manager);
      }
    } finally {
      await dataSource.destroy().catch(() => undefined);
      await database.drop();
    }
  }

  for (const row of rows) {
    // Cache-off rows ran on a server of their own, without /health: against the cache-on floor.
    if (row.ratio === 0) {
      const floor = rows.find((r) => r.db === row.db && r.tokens === row.tokens && r.server === row.server && r.route === HEALTH);
      row.ratio = floor ? row.rps / floor.rps : 0;
    }
    row.ratio = Math.round(row.ratio * 100) / 100;
  }
  const minutes = Math.round((performance.now() - began) / 600) / 100;
  writeFileSync('bench/RESULTS.md', report(rows, memoryPoints, delays, versions, minutes));
  log(`bench/RESULTS.md written (${minutes} min)`);
}

function report(rows: Row[], memoryPoints: { verified: number; rss: number }[], delays: Record<string, number[]>, versions: string[], minutes: number): string {
  const cpu = cpus();
  const lines = [
    '# Benchmark results',
    '',
    `${QUICK ? 'A quick run (`npm run bench -- --quick`)' : 'A full run (`npm run bench`)'} on ${new Date().toISOString().slice(0, 10)}, ${minutes} minutes.`,
    '',
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node.js ${process.version}; ${versions.join(', ')}.`,
    'The server (the demo API on Express, or on Fastify with `HTTP_ADAPTER=fastify`, in its own process) and autocannon (100 connections, 10 pipelined requests each) share the machine.',
    `After ${PLAN.warmup} s of warm-up per route, routes take turns in runs of ${PLAN.seconds} s, over ${PLAN.rounds} rounds (${PLAN.offRounds} with the cache off) in an order that rotates each round. Each run of valid tokens with the cache on follows one pass over its tokens, so that it measures cache hits. req/s, latencies and queries are those of the median run. The ratio is the median over rounds of the route's req/s to that of the unguarded /health in the same round (same server, database and table size); with the cache off, which runs on a server of its own, it is to the median /health. Valid tokens rotate over ${POOL} distinct tokens.`,
    `On Fastify, the unguarded route, the token route and the reference guard run on a server of their own, with the table at its largest (${PLAN.sizes.at(-1)!.toLocaleString('en')} tokens), each row's ratio to Fastify's own /health. The memory and revocation stages run on Express.`,
    '',
    '`GET /reference/me` answers what `GET /users/me` answers, behind the least a token guard can do (a SHA-256 of the bearer token and a lookup in a `Map`, then `request.user`; no expiry, revocation or scope check): the ceiling for any token guard, as the issue measured it. Bench-only code, like the JWT guard.',

    '',
    '| database | tokens in table | server | route | cache | req/s | ratio | p50 ms | p99 ms | queries / 1,000 req | non-2xx |',
    '| --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.db} | ${r.tokens.toLocaleString('en')} | ${SERVERS[r.server]} | ${r.route} | ${r.cache} | ${r.rps.toLocaleString('en')} | ${r.ratio.toFixed(2)} | ${r.p50} | ${r.p99} | ${r.queriesPer1000} | ${r.non2xx.toLocaleString('en')} |`),
    '',
    '## Memory',
    '',
    'RSS of one server (cache on, `cache.max` 10,000) as it verifies distinct tokens, each once:',
    '',
    '| distinct tokens verified | RSS MB |',
    '| ---: | ---: |',
    ...memoryPoints.map((p) => `| ${p.verified.toLocaleString('en')} | ${Math.round(p.rss / 1e6)} |`),
    '',
    '## Revocation across instances',
    '',
    'Two servers on one PostgreSQL database. For each token: verified (and cached) on B, revoked through A\'s `DELETE /tokens/:id`, then B asked in a loop; the delay runs from A\'s 204 to B\'s first 401.',
    '',
    '| bus | revocations | p50 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...Object.entries(delays).map(([bus, values]) => `| ${bus} | ${values.length} | ${percentile(values, 50).toFixed(1)} | ${percentile(values, 99).toFixed(1)} | ${Math.max(...values).toFixed(1)} |`),
    '',
    'Without a bus, or if a message is lost, another instance sees a revocation within the cache TTL (10 s by default).',
    '',
  ];
  return lines.join('\n');
}

await main();
