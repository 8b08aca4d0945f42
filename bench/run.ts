import { JwtService } from '@nestjs/jwt';
import bcrypt from 'bcrypt';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { deriveKeys, Fingerprinter, generateToken, hashToken, signingKeys, tokenHint } from '#internal';
import { connectionFromUrl, schema } from '../src/database.js';
import { User } from '../src/users/user.entity.js';
import { BENCH_JWT_SECRET } from './bench.constants.js';
import type { BenchStats } from './server.js';
import { LoadDriver, percentileOf, type LoadResult } from './load.js';
import { startServer, type ServerProcess } from './server-process.js';
import { realisticTraffic } from './traffic.js';
import { createDatabase } from './databases.js';

/**
 * `npm run bench [-- --quick | --smoke]`: the demo API in its own process under load (load.ts), on
 * SQLite and PostgreSQL, judged by the server's CPU time per request (`process.cpuUsage()` before
 * and after a fixed number of requests): req/s on a shared machine drifts by ±30% between runs,
 * CPU time per request much less. Routes take turns over rounds, and each is compared with its pair
 * in the same round. A full run writes bench/RESULTS.md; --quick and --smoke write to the OS temp
 * directory (or `--out <file>`), and `--json <file>` also writes the results as JSON.
 */

type Kind = 'sqlite' | 'postgres';
type Adapter = 'express' | 'fastify';
type Mode = 'full' | 'quick' | 'smoke';

const MODE: Mode = process.argv.includes('--smoke') ? 'smoke' : process.argv.includes('--quick') ? 'quick' : 'full';

interface Plan {
  kinds: Kind[];
  /** Tokens in the table, one set of servers each. */
  sizes: number[];
  rounds: number;
  /**
   * Server CPU milliseconds a measured run of a cache hit or refusal aims at: its request count is
   * set from the warm-up's CPU per request, then fixed for the rounds. On this machine the CPU per
   * request of 1,000-request runs varies by ±30% from one run to the next, of 8,000-request runs
   * by about ±5% (measured).
   */
  runCpuMs: number;
  /** Requests per measured run of a miss (cache off, or cold). */
  missRequests: number;
  /** Distinct tokens the memory stage verifies, once each; 0: no memory stage. */
  distinct: number;
  /** Revocations per bus; 0: no revocation stage. */
  revocations: number;
  traffic: boolean;
  /** Whether a session counts rate limits in Redis (the smoke run, under `npm test`, needs no Redis). */
  redis: boolean;
}

const PLANS: Record<Mode, Plan> = {
  full: {
    kinds: ['sqlite', 'postgres'],
    sizes: [1_000, 1_000_000],
    rounds: 7,
    runCpuMs: 600,
    missRequests: 1_500,
    distinct: 1_000_000,
    revocations: 100,
    traffic: true,
    redis: true,
  },
  quick: {
    kinds: ['sqlite', 'postgres'],
    sizes: [5_000],
    rounds: 3,
    runCpuMs: 200,
    missRequests: 400,
    distinct: 21_000,
    revocations: 10,
    traffic: true,
    redis: true,
  },
  // What the smoke test runs: every row, a few hundred requests each, never judged by speed.
  smoke: {
    kinds: ['sqlite'],
    sizes: [1_000],
    rounds: 1,
    runCpuMs: 20,
    missRequests: 300,
    distinct: 600,
    revocations: 0,
    traffic: false,
    redis: false,
  },
};
const PLAN = PLANS[MODE];

/** Valid tokens a cache-hit row cycles through; as many of each kind of refused token. */
const POOL = 100;
const CONNECTIONS = 100;
const PIPELINING = 10;
const BATCH = 1_000;
/** The verification cache's default size (`cache.max`), which the memory stage runs with. */
const CACHE_MAX = MODE === 'smoke' ? 200 : 10_000;
/** Tokens per request to `POST /__bench/verify` (the demo takes JSON bodies up to 16 kB). */
const VERIFY_BATCH = 150;
/** The memory stage's warm-up: this many times `cache.max` distinct tokens of another user. */
const CHURN = 3;
/** The lower bounds of the targets, one place. */
const LIMITS = { hit: 1.05, miss: 1.25, refusal: 1.0, scale: 1.1, flat: 1.1, rated: 1.1 };
/** The Redis of the rate limits' row (the cache bus's, so the counters' too). */
const REDIS_URL = 'redis://127.0.0.1:6379';

const SERVERS: Record<Adapter, string> = { express: 'Express', fastify: 'Fastify' };
const DBS: Record<Kind, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

const loaded = performance.now();
/** A progress line, with the minutes since the start: the full run must stay under 20. */
const log = (line: string) =>
  process.stdout.write(`[${((performance.now() - loaded) / 60_000).toFixed(1)} min] ${line}\n`);

/** The value of `--name <value>` on the command line. */
function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

/** The servers' secret, new each run; the bench signs the tokens it seeds with it. */
const SECRET = randomBytes(32).toString('base64url');
const KEYS = signingKeys([SECRET]);

/**
 * Inserts `count` tokens for `user`, one multi-row INSERT per batch; returns the raw tokens and
 * their ids.
 */
async function seed(dataSource: DataSource, user: User, count: number): Promise<{ raw: string; id: string }[]> {
  const fingerprint = new Fingerprinter(['username', 'passwordHash'], [KEYS.current.fingerprint]).of(user);
  const columns = 'id, user_id, kind, name, token_hash, hint, scopes, created_at, expires_at, lifetime, fingerprint';
  const width = columns.split(',').length;
  const placeholder = dataSource.options.type === 'postgres' ? (i: number) => `$${i + 1}` : () => '?';
  const added: { raw: string; id: string }[] = [];
  // Whole seconds, as the module stores them: the signed expiry and the stored one agree.
  const now = Math.floor(Date.now() / 1000) * 1000;
  for (let start = 0; start < count; start += BATCH) {
    const values: unknown[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      const raw = generateToken('nat', KEYS.current, now + 30 * 86_400_000);
      const id = randomUUID();
      added.push({ raw, id });
      values.push(
        id,
        String(user.id),
        'personal',
        `bench ${randomUUID()}`,
        hashToken(raw),
        tokenHint(raw),
        '["*"]',
        now,
        now + 30 * 86_400_000,
        30 * 86_400,
        fingerprint,
      );
    }
    const rows = Array.from(
      { length: values.length / width },
      (_, row) => `(${Array.from({ length: width }, (_, column) => placeholder(row * width + column)).join(', ')})`,
    );
    await dataSource.query(`INSERT INTO access_tokens (${columns}) VALUES ${rows.join(', ')}`, values);
  }
  return added;
}

/**
 * Adds `count` rows of tokens nobody holds, made by the database itself: they only make the table
 * big, and SQL makes a million of them in seconds where inserts through TypeORM take minutes.
 */
async function fill(dataSource: DataSource, kind: Kind, userId: number, count: number): Promise<void> {
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
  if (kind === 'postgres') await dataSource.query('ANALYZE access_tokens');
}

/**
 * The server's counters; memory after a full garbage collection when `collect` (`release`: V8's
 * last-resort one, which gives unused heap back to the system); once the uses
 * waiting to be recorded are written when `flush` (they are written in batches, up to a second
 * later: a run's writes belong to it, not to the next).
 */
async function stats(
  server: ServerProcess,
  collect: 'full' | 'release' | null = null,
  flush = false,
): Promise<BenchStats> {
  const query = [collect && `gc=${collect}`, flush && 'flush=1'].filter(Boolean).join('&');
  return (await fetch(`${server.url}/__bench/stats${query ? `?${query}` : ''}`)).json() as Promise<BenchStats>;
}

/** Servers running now: stopped if the bench is interrupted. */
const running = new Set<ServerProcess>();
async function start(env: Record<string, string>): Promise<ServerProcess> {
  const server = await startServer({ NODE_ENV: 'production', TOKEN_SECRET: SECRET, ...env }, 'dist/bench/server.js', [
    '--expose-gc',
  ]);
  running.add(server);
  return { ...server, stop: () => (running.delete(server), server.stop()) };
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const server of running) void server.stop();
    process.exit(1);
  });
}
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the uses waiting are written and the server has run no query for a moment. */
async function quiet(server: ServerProcess): Promise<BenchStats> {
  let last = await stats(server, null, true);
  for (let i = 0; i < 100; i++) {
    await pause(20);
    const next = await stats(server);
    if (next.queries === last.queries) return next;
    last = next;
  }
  return last;
}

/** Where a route's tokens come from. */
type Source =
  | { type: 'none' }
  /** Each connection cycles through these, all starting at the first. */
  | { type: 'cycle'; tokens: string[] }
  /** Each token once, a slice of its own per round. */
  | { type: 'once'; slices: string[][] };

interface Route {
  /** What the table calls it; unique on its server. */
  label: string;
  path: string;
  stage: 'hit' | 'refusal' | 'miss';
  source: Source;
  /** The route whose CPU per request this one's is divided by, in the same round. */
  pair: string | null;
  /** Whether each token is sent once before each run, so that the run measures cache hits. */
  warm: boolean;
  /** Whether its runs are sized by its own cost rather than its session's reference route's. */
  ownSize?: boolean;
  /** The status every answer must have. */
  status: 200 | 401;
}

/** One measured run of a route. */
interface Run {
  /** Server CPU µs per request. */
  cpu: number;
  served: number;
  rps: number;
  p50: number;
  p99: number;
  reads: number;
  updates: number;
  inserts: number;
  deletes: number;
  /** Answers of another status than the route's. */
  wrong: number;
}

/** A row of the results: a route on one server, over the rounds. */
export interface Row {
  stage: Route['stage'];
  db: Kind;
  tokens: number;
  server: Adapter;
  route: string;
  cache: 'on' | 'off' | '—';
  /** Requests served over the rounds, and per run. */
  requests: number;
  perRun: number;
  cpu: number;
  pair: string | null;
  ratio: number | null;
  ratioMin: number | null;
  ratioMax: number | null;
  rps: number;
  p50: number;
  p99: number;
  readsPer1000: number;
  writesPer1000: number;
  updates: number;
  inserts: number;
  deletes: number;
  wrongStatus: number;
}

/** The bearer token of each request of a run of `route` in round `round`, and how many requests the run sends. */
function tokensOf(
  route: Route,
  round: number,
  planned: number,
): { token: (i: number) => string | null; amount: number } {
  const { source } = route;
  if (source.type === 'none') return { token: () => null, amount: planned };
  if (source.type === 'cycle') return { token: (i) => source.tokens[i % source.tokens.length]!, amount: planned };
  const slice = source.slices[round]!;
  return { token: (i) => slice[i]!, amount: slice.length };
}

async function measure(server: ServerProcess, route: Route, round: number, requests: number): Promise<Run> {
  const { token, amount } = tokensOf(route, round, requests);
  const driver = new LoadDriver(server.url, CONNECTIONS, PIPELINING);
  try {
    // Connected before the count starts: a run does not pay for accepting its connections. The
    // warm pass goes over the same connections, so that nothing of it is left for the run.
    await driver.open();
    const { source } = route;
    if (route.warm && source.type === 'cycle')
      await driver.run({ amount: source.tokens.length, path: route.path, token: (i) => source.tokens[i]! });
    // The run before ended quiet (below); the warm pass's uses are written before the count starts,
    // and a full garbage collection leaves every run the same heap: without it, a collection the
    // runs before made due falls in this one, which spread the ratios of a route to itself over
    // 0.83–1.41 (0.98–1.10 with it, measured). Each run still pays for its own young garbage.
    const before = await stats(server, 'full', true);
    const result = await driver.run({ amount, path: route.path, token });
    // Writes not awaited by the request (a use recorded) are part of what a miss costs.
    const after = route.stage === 'miss' ? await quiet(server) : await stats(server);
    return runOf(route, result, before, after);
  } finally {
    driver.close();
  }
}

function runOf(route: Route, result: LoadResult, before: BenchStats, after: BenchStats): Run {
  const { served } = result;
  return {
    cpu: (after.cpu - before.cpu) / served,
    served,
    rps: served / result.seconds,
    p50: percentileOf(result.latencies, 50),
    p99: percentileOf(result.latencies, 99),
    reads: after.reads - before.reads,
    updates: after.updates - before.updates,
    inserts: after.inserts - before.inserts,
    deletes: after.deletes - before.deletes,
    wrong: served - (result.statuses.get(route.status) ?? 0),
  };
}

/** The middle value; the mean of the two middle ones for an even count. */
const median = (values: number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const percentile = (values: number[], p: number) =>
  [...values].sort((x, y) => x - y)[
    Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))
  ]!;
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
const per1000 = (count: number, served: number) => Math.round((count / served) * 10_000) / 10;

/**
 * Runs `routes` on one server: a warm-up pass over every route, then `PLAN.rounds` rounds in which
 * each route runs once, in an order that rotates each round and runs backwards in rounds 2 and 3
 * of every 4 (so that no route always follows its pair). Returns a row per route.
 */
async function session(
  kind: Kind,
  size: number,
  adapter: Adapter,
  cache: 'on' | 'off',
  url: string,
  routes: Route[],
  warmup: Route[],
  env: Record<string, string> = {},
): Promise<Row[]> {
  // Cache hits are measured as hits: no cached token expires within a run (with the default 10 s,
  // each costs one read per 10 s, which is not what a hit costs). Misses and refusals do not
  // depend on it (a signed unknown or expired token is remembered 60 s, or the TTL if shorter).
  const server = await start({
    DATABASE_URL: url,
    TOKEN_CACHE: cache,
    HTTP_ADAPTER: adapter,
    ...(cache === 'on' ? { BENCH_CACHE_TTL: '3600' } : {}),
    ...env,
  });
  try {
    // The first requests of a route are slower (JIT): two unmeasured runs of each (the cold routes
    // on tokens of their own). The second sets the size of the measured runs: as many requests as
    // cost the session's reference route (the pair of the others) about PLAN.runCpuMs of CPU, the
    // same for every route, since a run also costs a little whatever its size, which must not
    // favour one route of a pair. The JWT guard alone, whose ratio is information, runs fewer.
    const sized = (cpu: number) => Math.min(100_000, Math.max(200, Math.round((PLAN.runCpuMs * 1000) / cpu)));
    const cost = new Map<string, number>();
    for (const route of warmup) {
      const first = await measure(server, route, 0, 300);
      if (route.source.type === 'once') continue;
      cost.set(route.label, (await measure(server, route, 0, sized(first.cpu))).cpu);
    }
    const anchor = routes.find((route) => route.pair === null && route.source.type === 'cycle');
    const requests = new Map<string, number>();
    for (const route of routes) {
      if (route.source.type === 'once') continue;
      requests.set(route.label, sized(route.ownSize || !anchor ? cost.get(route.label)! : cost.get(anchor.label)!));
    }
    const plan = (route: Route) => requests.get(route.label) ?? PLAN.missRequests;
    const runs = new Map<string, Run[]>(routes.map((route) => [route.label, []]));
    for (let round = 0; round < PLAN.rounds; round++) {
      const rotated = routes.map((_, turn) => routes[(round + turn) % routes.length]!);
      for (const route of round % 4 >= 2 ? rotated.reverse() : rotated) {
        runs.get(route.label)![round] = await measure(server, route, round, plan(route));
      }
    }
    return routes.map((route) => {
      const measured = runs.get(route.label)!;
      const served = sum(measured.map((run) => run.served));
      const ratios = route.pair ? measured.map((run, round) => run.cpu / runs.get(route.pair!)![round]!.cpu) : [];
      const [reads, updates, inserts, deletes] = (['reads', 'updates', 'inserts', 'deletes'] as const).map((field) =>
        sum(measured.map((run) => run[field])),
      );
      const row: Row = {
        stage: route.stage,
        db: kind,
        tokens: size,
        server: adapter,
        route: route.label,
        cache: route.path === '/users/me' || route.path === '/passport/me' ? cache : '—',
        requests: served,
        perRun: plan(route),
        cpu: median(measured.map((run) => run.cpu)),
        pair: route.pair,
        ratio: ratios.length ? median(ratios) : null,
        ratioMin: ratios.length ? Math.min(...ratios) : null,
        ratioMax: ratios.length ? Math.max(...ratios) : null,
        rps: median(measured.map((run) => run.rps)),
        p50: median(measured.map((run) => run.p50)),
        p99: median(measured.map((run) => run.p99)),
        readsPer1000: per1000(reads!, served),
        writesPer1000: per1000(updates! + inserts! + deletes!, served),
        updates: updates!,
        inserts: inserts!,
        deletes: deletes!,
        wrongStatus: sum(measured.map((run) => run.wrong)),
      };
      const range = ratios.length
        ? ` ×${row.ratio!.toFixed(3)} of ${route.pair} (rounds ${ratios.map((r) => r.toFixed(3)).join(' ')})`
        : '';
      log(
        `${DBS[kind]} ${size} ${SERVERS[adapter]} cache ${cache} ${route.label}: ${row.cpu.toFixed(1)} µs/req${range}; ${Math.round(row.rps)} req/s; reads ${row.readsPer1000}/1000, writes U${updates} I${inserts} D${deletes}; wrong status ${row.wrongStatus}`,
      );
      return row;
    });
  } finally {
    await server.stop();
  }
}

/** Labels of the rows, one place: targets find rows by them. */
const L = {
  ping: 'GET /__bench/ping (no guard)',
  hit: 'GET /users/me, valid token (cache hit)',
  reference: 'GET /reference/me: SHA-256 + Map (reference)',
  control: 'GET /reference/me again (A/A control: the noise of a ratio)',
  passport: "GET /passport/me: AuthGuard('access-token')",
  jwt: 'GET /jwt/me: JWT guard (NestJS docs)',
  garbage: 'garbage token: bad CRC (401)',
  forged: 'forged token: MAC of another secret (401)',
  expired: 'expired signed token (401)',
  unknown: 'unknown signed token, in no table (401)',
  floor: 'no token, to a guard that throws UnauthorizedException at once: the floor of a 401 (GET /jwt/me)',
  cold: 'GET /users/me, each token once (cold cache)',
  referenceDbCold: 'GET /reference/db/me, each token once (reference)',
  rated: 'GET /users/me, rate-limited token counted in process (cache hit)',
  ratedRedis: 'GET /users/me, rate-limited token counted in Redis (cache hit)',
  counted: 'GET /users/me, token with maxUses: one atomic write a request (cache hit)',
  off: 'GET /users/me, valid token (cache off)',
  referenceDb: 'GET /reference/db/me: SHA-256 + 1 prepared statement (reference)',
} as const;

/** The tokens a set of servers presents. */
interface Tokens {
  pool: string[];
  /** Valid tokens with a rate limit no run reaches. */
  rated: string[];
  /** Valid tokens with more uses than any run takes. */
  counted: string[];
  jwt: string;
  garbage: string[];
  forged: string[];
  expired: string[];
  unknown: string[];
}

/** The routes of the stages, built over the tokens they present. */
function routesOf(tokens: Tokens) {
  const cycle = (list: string[]): Source => ({ type: 'cycle', tokens: list });
  const route = (
    label: string,
    path: string,
    stage: Route['stage'],
    source: Source,
    pair: string | null,
    extra: Partial<Route> = {},
  ): Route => ({ label, path, stage, source, pair, warm: false, status: 200, ...extra });
  return {
    hits: [
      // The floor of a request: no guard, no query (the demo's /health queries the token store).
      route(L.ping, '/__bench/ping', 'hit', { type: 'none' }, L.reference),
      route(L.hit, '/users/me', 'hit', cycle(tokens.pool), L.reference, { warm: true }),
      route(L.reference, '/reference/me', 'hit', cycle(tokens.pool), null, { warm: true }),
      // Beside a plain cache hit, each with its usage policy's own cost.
      route(L.rated, '/users/me', 'hit', cycle(tokens.rated), L.hit, { warm: true }),
      route(L.counted, '/users/me', 'hit', cycle(tokens.counted), L.hit, { warm: true }),
      route(L.control, '/reference/me', 'hit', cycle(tokens.pool), L.reference, { warm: true }),
      route(L.passport, '/passport/me', 'hit', cycle(tokens.pool), L.reference, { warm: true }),
      route(L.jwt, '/jwt/me', 'hit', cycle([tokens.jwt]), L.reference, { ownSize: true }),
    ],
    refusals: [
      route(L.garbage, '/users/me', 'refusal', cycle(tokens.garbage), L.hit, { status: 401 }),
      route(L.forged, '/users/me', 'refusal', cycle(tokens.forged), L.hit, { status: 401 }),
      route(L.expired, '/users/me', 'refusal', cycle(tokens.expired), L.hit, { status: 401 }),
      route(L.unknown, '/users/me', 'refusal', cycle(tokens.unknown), L.hit, { status: 401 }),
      route(L.floor, '/jwt/me', 'refusal', { type: 'none' }, L.hit, { status: 401 }),
    ],
    // On a server whose cache bus, and so its rate limits' counters, are in Redis.
    redis: [
      route(L.hit, '/users/me', 'hit', cycle(tokens.pool), L.reference, { warm: true }),
      route(L.reference, '/reference/me', 'hit', cycle(tokens.pool), null, { warm: true }),
      route(L.ratedRedis, '/users/me', 'hit', cycle(tokens.rated), L.hit, { warm: true }),
    ],
    off: [
      route(L.off, '/users/me', 'miss', cycle(tokens.pool), L.referenceDb, { warm: true }),
      route(L.referenceDb, '/reference/db/me', 'miss', cycle(tokens.pool), null, { warm: true }),
    ],
  };
}

/**
 * Misses on a cold cache: the cache on, each token presented once (tokens of the table, a slice per
 * round), against the reference lookup on tokens of its own; the warm-up on a slice of its own.
 */
function coldRoutes(cold: string[]): { routes: Route[]; warmup: Route[] } {
  const slices = (from: number) =>
    Array.from({ length: PLAN.rounds }, (_, round) =>
      cold.slice(from + round * PLAN.missRequests, from + (round + 1) * PLAN.missRequests),
    );
  const count = PLAN.rounds * PLAN.missRequests;
  const route = (label: string, path: string, pair: string | null, slices: string[][]): Route => ({
    label,
    path,
    stage: 'miss',
    source: { type: 'once', slices },
    pair,
    warm: false,
    status: 200,
  });
  const routes = [
    route(L.cold, '/users/me', L.referenceDbCold, slices(0)),
    route(L.referenceDbCold, '/reference/db/me', null, slices(count)),
  ];
  const warm = cold.slice(2 * count);
  return { routes, warmup: routes.map((r) => ({ ...r, source: { type: 'once' as const, slices: [warm] } })) };
}

/**
 * At one table size: cache hits and refusals with the cache on (Express, and Fastify at the
 * largest size), misses with the cache off, and, given tokens used once (`cold`), misses on a cold
 * cache on the cache-on Express server.
 */
async function stagesAt(kind: Kind, size: number, url: string, tokens: Tokens, cold: string[] | null): Promise<Row[]> {
  const { hits, refusals, off, redis } = routesOf(tokens);
  const misses = cold ? coldRoutes(cold) : { routes: [], warmup: [] };
  const rows: Row[] = [];
  const express = [...hits, ...refusals];
  rows.push(
    ...(await session(
      kind,
      size,
      'express',
      'on',
      url,
      [...express, ...misses.routes],
      [...express, ...misses.warmup],
    )),
  );
  // On Fastify at the largest table only: the full run must stay under 20 minutes.
  if (size === PLAN.sizes.at(-1)) {
    rows.push(...(await session(kind, size, 'fastify', 'on', url, hits, hits)));
    // The cache bus in Redis, where the rate limits are then counted too.
    const bus = { TOKEN_CACHE_BUS: REDIS_URL };
    if (PLAN.redis) rows.push(...(await session(kind, size, 'express', 'on', url, redis, redis, bus)));
  }
  rows.push(...(await session(kind, size, 'express', 'off', url, off, off)));
  return rows;
}

/** Tokens a cold-cache stage needs: a slice per round for each of its two routes, and one for the warm-up. */
const COLD_TOKENS = (2 * PLAN.rounds + 1) * PLAN.missRequests;

interface MemoryPoint {
  verified: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  rssAnon: number | null;
}

/**
 * RSS and heap of a server (cache on, `cache.max` as given) that verifies `tokens` distinct tokens
 * once each, measured after a last-resort garbage collection along the way. Before the first point,
 * another user's `churn` tokens (several times `cache.max`) fill the cache and push entries out of
 * it, under the same load, and are then revoked, which empties it: the process has then grown to
 * what that load takes (V8's heap, the allocator's arenas), so that the points measure the cache,
 * not the first minutes of a process.
 */
async function memory(
  url: string,
  tokens: string[],
  churn: { tokens: string[]; user: number },
  max: number,
): Promise<MemoryPoint[]> {
  const server = await start({ DATABASE_URL: url, ...(max === 10_000 ? {} : { BENCH_CACHE_MAX: String(max) }) });
  // In the server's process, VERIFY_BATCH tokens a request (`POST /__bench/verify`): what a
  // request bearing each token does to the cache, without an HTTP request for each of a million.
  const verify = async (slice: string[]) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        while (next < slice.length) {
          const batch = slice.slice(next, (next += VERIFY_BATCH));
          const response = await fetch(`${server.url}/__bench/verify`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ tokens: batch }),
          });
          if (response.status !== 201) throw new Error(`memory: ${await response.text()}`);
        }
      }),
    );
  };
  try {
    await verify(churn.tokens);
    await quiet(server);
    const { revoked } = (await (
      await fetch(`${server.url}/__bench/revoke-all?user=${churn.user}`, { method: 'POST' })
    ).json()) as { revoked: number };
    if (revoked !== churn.tokens.length)
      throw new Error(`memory: ${revoked} of the warm-up's ${churn.tokens.length} tokens revoked`);
    const point = async (verified: number): Promise<MemoryPoint> => {
      const { rss, heapUsed, heapTotal, external, rssAnon } = await stats(server, 'release');
      log(
        `memory: ${verified.toLocaleString('en')} distinct tokens verified, RSS ${(rss / 1e6).toFixed(1)} MB (anonymous ${((rssAnon ?? 0) / 1e6).toFixed(1)}), heap ${(heapUsed / 1e6).toFixed(1)} of ${(heapTotal / 1e6).toFixed(1)} MB, external ${(external / 1e6).toFixed(1)} MB`,
      );
      return { verified, rss, heapUsed, heapTotal, external, rssAnon };
    };
    const points = [await point(0)];
    const marks = [
      ...new Set([max, 2 * max, Math.floor(tokens.length / 5), Math.floor(tokens.length / 2), tokens.length]),
    ]
      .filter((mark) => mark <= tokens.length && mark > 0)
      .sort((x, y) => x - y);
    let done = 0;
    for (const mark of marks) {
      await verify(tokens.slice(done, mark));
      done = mark;
      await quiet(server);
      points.push(await point(mark));
    }
    return points;
  } finally {
    await server.stop();
  }
}

/** Milliseconds from a revocation answered by server A to the first 401 from server B, for each token. */
async function crossInstance(
  servers: [ServerProcess, ServerProcess],
  tokens: { raw: string; id: string }[],
  manager: string,
): Promise<number[]> {
  const [a, b] = servers;
  const delays: number[] = [];
  for (const token of tokens) {
    const ask = () =>
      fetch(`${b.url}/users/me`, { headers: { authorization: `Bearer ${token.raw}` } }).then((r) => r.status);
    if ((await ask()) !== 200) throw new Error('a bench token was refused before its revocation');
    const revoked = await fetch(`${a.url}/tokens/${token.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${manager}` },
    });
    if (revoked.status !== 204) throw new Error(`revocation answered ${revoked.status}`);
    const began = performance.now();
    while ((await ask()) !== 401) {
      if (performance.now() - began > 15_000) throw new Error('the revocation never reached the other instance');
    }
    delays.push(performance.now() - began);
  }
  return delays;
}

/** A line of the targets table. */
export interface Target {
  group: string;
  target: string;
  measured: string;
  /** `null`: reported, not judged. */
  pass: boolean | null;
}

const verdict = (pass: boolean | null) => (pass === null ? '—' : pass ? 'PASS' : 'FAIL');

export interface Results {
  mode: Mode;
  minutes: number;
  versions: string[];
  rows: Row[];
  targets: Target[];
  memory: { points: MemoryPoint[]; max: number; bytesPerEntry: { heap: number } | null };
  revocations: Record<string, number[]>;
  traffic: { label: string; value: string; target: string; pass: boolean }[];
  /** What could not run, said in the results. */
  notes: string[];
}

const ratioText = (row: Row) => `${row.ratio!.toFixed(2)} (${row.ratioMin!.toFixed(2)}–${row.ratioMax!.toFixed(2)})`;
const sizeText = (size: number) =>
  size >= 1_000_000
    ? `${+(size / 1_000_000).toFixed(2)}M`
    : size >= 1_000
      ? `${+(size / 1_000).toFixed(1)}k`
      : String(size);

/** Judges the rows, the memory points and the revocation delays against the issue's targets. */
function judge(rows: Row[], memoryResult: Results['memory'], revocations: Record<string, number[]>): Target[] {
  const targets: Target[] = [];
  const where = (row: Row) => `${DBS[row.db]}, ${sizeText(row.tokens)} tokens`;
  for (const row of rows.filter((r) => r.route === L.control)) {
    targets.push({
      group: 'Noise',
      target: `${where(row)}, ${SERVERS[row.server]}: the reference guard against itself (A/A; reported, not judged): how far a ratio moves with no difference`,
      measured: `${ratioText(row)}×`,
      pass: null,
    });
  }
  for (const row of rows.filter((r) => r.route === L.hit)) {
    targets.push({
      group: 'Cache hit',
      target: `${where(row)}, ${SERVERS[row.server]}: CPU/request of a cached token ≤ ${LIMITS.hit}× the reference guard's`,
      measured: `${ratioText(row)}×`,
      pass: row.ratio! <= LIMITS.hit,
    });
  }
  for (const row of rows.filter((r) => r.route === L.rated)) {
    targets.push({
      group: 'Usage policy',
      target: `${where(row)}, ${SERVERS[row.server]}: CPU/request of a rate-limited token counted in process ≤ ${LIMITS.rated}× a plain cache hit's, no query`,
      measured: `${ratioText(row)}×, ${row.readsPer1000} reads / 1,000`,
      pass: row.ratio! <= LIMITS.rated && row.readsPer1000 === 0,
    });
  }
  for (const row of rows.filter((r) => r.route === L.ratedRedis)) {
    targets.push({
      group: 'Usage policy',
      target: `${where(row)}, ${SERVERS[row.server]}: a rate-limited token counted in Redis: one round trip (its CPU/request to a plain cache hit's reported) and no query`,
      measured: `${ratioText(row)}×, ${row.readsPer1000} reads, ${row.writesPer1000} writes / 1,000`,
      pass: row.readsPer1000 === 0,
    });
  }
  for (const row of rows.filter((r) => r.route === L.counted)) {
    targets.push({
      group: 'Usage policy',
      target: `${where(row)}, ${SERVERS[row.server]}: a token with maxUses: one atomic write per request, no read (its CPU/request to a plain cache hit's reported)`,
      measured: `${ratioText(row)}×, ${row.readsPer1000} reads, ${row.writesPer1000} writes / 1,000`,
      pass: row.readsPer1000 === 0 && row.writesPer1000 >= 990 && row.writesPer1000 <= 1010,
    });
  }
  for (const row of rows.filter((r) => r.route === L.off || r.route === L.cold)) {
    const kind = row.route === L.off ? 'cache off' : 'cold cache';
    targets.push({
      group: 'Cache miss',
      target: `${where(row)}, ${kind}: CPU/miss ≤ ${LIMITS.miss}× the reference lookup on the raw driver`,
      measured: `${ratioText(row)}×`,
      pass: row.ratio! <= LIMITS.miss,
    });
    targets.push({
      group: 'Cache miss',
      target: `${where(row)}, ${kind}: one query per request`,
      measured: `${row.readsPer1000} reads / 1,000`,
      pass: row.readsPer1000 >= 990 && row.readsPer1000 <= 1000,
    });
    // Valid tokens cycling with the cache off come due for a use record once per tokens.lastUsedIntervalSeconds
    // (60 s), which a session can outlast: their uses are written together, by a batched UPDATE
    // the request does not wait for, at most one or two per run. A token's first use on a cold
    // cache is recorded the same way, which a count of statements cannot tell from a write a
    // request waits for: reported.
    targets.push(
      row.route === L.off
        ? {
            group: 'Cache miss',
            target: `${where(row)}, ${kind}: no write on the request path (the pool's uses, due once per tokens.lastUsedIntervalSeconds, in at most 2 batched UPDATEs per run)`,
            measured: `${row.writesPer1000} writes / 1,000 (UPDATE ${row.updates} in ${PLAN.rounds} runs, INSERT ${row.inserts}, DELETE ${row.deletes})`,
            pass: row.updates <= 2 * PLAN.rounds && row.inserts + row.deletes === 0,
          }
        : {
            group: 'Cache miss',
            target: `${where(row)}, ${kind}: writes (each token's first use in tokens.lastUsedIntervalSeconds recorded, not awaited; reported)`,
            measured: `${row.writesPer1000} writes / 1,000 (UPDATE ${row.updates}, INSERT ${row.inserts}, DELETE ${row.deletes})`,
            pass: null,
          },
    );
  }
  for (const row of rows.filter((r) => r.route === L.floor)) {
    targets.push({
      group: 'Refusals',
      target: `${where(row)}, ${SERVERS[row.server]}: Nest's floor for a 401, a guard that throws UnauthorizedException at once, to a cached valid token (reported, not judged)`,
      measured: `${ratioText(row)}×`,
      pass: null,
    });
  }
  for (const row of rows.filter((r) => r.stage === 'refusal' && r.route !== L.floor)) {
    const name = row.route
      .split(':')[0]!
      .replace(' (401)', '')
      .replace(/ token.*/, '');
    const floor = rows.find(
      (r) => r.route === L.floor && r.db === row.db && r.tokens === row.tokens && r.server === row.server,
    );
    targets.push({
      group: 'Refusals',
      target: `${where(row)}, ${name} token: CPU/request ≤ ${LIMITS.refusal.toFixed(2)}× a cached valid token's`,
      measured: `${ratioText(row)}×${floor ? ` (Nest's floor for a 401: ${ratioText(floor)}×)` : ''}`,
      pass: row.ratio! <= LIMITS.refusal,
    });
    // An unknown signed token costs one read per distinct token and 60 s; a run is shorter.
    const unknown = row.route === L.unknown;
    targets.push({
      group: 'Refusals',
      target: `${where(row)}, ${name} token: ${unknown ? `at most one read per distinct token (${POOL}) and run` : 'no query'}`,
      measured: `${row.readsPer1000} reads, ${row.writesPer1000} writes / 1,000`,
      pass: row.readsPer1000 <= (unknown ? per1000(POOL * PLAN.rounds, row.requests) : 0) && row.writesPer1000 === 0,
    });
  }
  for (const db of PLAN.kinds) {
    for (const [label, name] of [
      [L.hit, 'cache hit'],
      [L.off, 'miss, cache off'],
      [L.cold, 'miss, cold cache'],
    ] as const) {
      const sized = rows
        .filter((r) => r.db === db && r.server === 'express' && r.route === label)
        .sort((x, y) => x.tokens - y.tokens);
      const [small, large] = [sized[0], sized.at(-1)];
      if (!small || !large || small === large) continue;
      const ratio = large.cpu / small.cpu;
      targets.push({
        group: 'Scale',
        target: `${DBS[db]}, ${name}: CPU/request at ${sizeText(large.tokens)} tokens ≤ ${LIMITS.scale}× at ${sizeText(small.tokens)} (two servers)`,
        measured: `${large.cpu.toFixed(1)} / ${small.cpu.toFixed(1)} µs = ${ratio.toFixed(2)}×`,
        pass: ratio <= LIMITS.scale,
      });
    }
  }
  const { points, max, bytesPerEntry } = memoryResult;
  const past = points.find((p) => p.verified >= 2 * max);
  const last = points.at(-1);
  if (past && last && last.verified > past.verified) {
    targets.push({
      group: 'Memory',
      target: `RSS flat past cache.max: after ${last.verified.toLocaleString('en')} distinct tokens ≤ ${LIMITS.flat}× after ${past.verified.toLocaleString('en')}`,
      measured: `${(last.rss / 1e6).toFixed(0)} / ${(past.rss / 1e6).toFixed(0)} MB = ${(last.rss / past.rss).toFixed(2)}× (${last.rssAnon && past.rssAnon ? `anonymous ${(last.rssAnon / past.rssAnon).toFixed(2)}×, ` : ''}heap used ${(last.heapUsed / past.heapUsed).toFixed(2)}×, heap total ${(last.heapTotal / past.heapTotal).toFixed(2)}×)`,
      pass: last.rss <= LIMITS.flat * past.rss,
    });
  }
  if (bytesPerEntry) {
    targets.push({
      group: 'Memory',
      target: 'bytes of heap per cache entry (reported, no target)',
      measured: Math.round(bytesPerEntry.heap).toLocaleString('en'),
      pass: null,
    });
  }
  for (const [bus, delays] of Object.entries(revocations)) {
    targets.push({
      group: 'Revocation',
      target: `${bus}: every revocation seen by the other instance (p99 reported)`,
      measured: `${delays.length} of ${PLAN.revocations}, p99 ${percentile(delays, 99).toFixed(1)} ms`,
      pass: delays.length === PLAN.revocations,
    });
  }
  return targets;
}

async function main(): Promise<void> {
  const began = performance.now();
  const results: Results = {
    mode: MODE,
    minutes: 0,
    versions: [],
    rows: [],
    targets: [],
    memory: { points: [], max: CACHE_MAX, bytesPerEntry: null },
    revocations: {},
    traffic: [],
    notes: [],
  };

  for (const kind of PLAN.kinds) {
    const database = await createDatabase(kind);
    const dataSource = new DataSource({
      ...connectionFromUrl(database.url),
      entities: [...schema.entities],
      migrations: [...schema.migrations],
    });
    try {
      await dataSource.initialize();
      await dataSource.runMigrations();
      results.versions.push(
        kind === 'sqlite'
          ? `SQLite ${(await dataSource.query('select sqlite_version() as v'))[0].v}`
          : String((await dataSource.query('select version() as v'))[0].v).split(',')[0]!,
      );
      const user = await dataSource.getRepository(User).save({
        username: 'bench',
        passwordHash: await bcrypt.hash('bench password', 10),
        blocked: false,
        isAdmin: false,
      });
      const pool = await seed(dataSource, user, POOL);
      const ids = (tokens: { id: string }[]) => tokens.map((token) => `'${token.id}'`).join(', ');
      // A rate limit and a quota that no run reaches: what the rows measure is what they cost.
      const rated = await seed(dataSource, user, POOL);
      await dataSource.query(
        `UPDATE access_tokens SET rate_limit = 1000000000, rate_window = 3600 WHERE id IN (${ids(rated)})`,
      );
      const counted = await seed(dataSource, user, POOL);
      await dataSource.query(
        `UPDATE access_tokens SET max_uses = 2000000000, uses_left = 2000000000 WHERE id IN (${ids(counted)})`,
      );
      // Signed with the servers' secret, but in no table: pruned tokens, say.
      const unknown = Array.from({ length: POOL }, () => generateToken('nat', KEYS.current, null));
      // Right in all a forger can get right (form and CRC32), signed with a secret the servers lack.
      const forger = deriveKeys(randomBytes(32).toString('base64url'));
      const tokens: Tokens = {
        pool: pool.map((token) => token.raw),
        rated: rated.map((token) => token.raw),
        counted: counted.map((token) => token.raw),
        jwt: new JwtService({ secret: BENCH_JWT_SECRET }).sign({ sub: user.id, username: user.username }),
        garbage: unknown.map((token) => `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`),
        forged: Array.from({ length: POOL }, () => generateToken('nat', forger, null)),
        expired: Array.from({ length: POOL }, () => generateToken('nat', KEYS.current, Date.now() - 60_000)),
        unknown,
      };
      let inTable = POOL;
      const add = async (count: number) => {
        const began = performance.now();
        const added = await seed(dataSource, user, count);
        inTable += count;
        log(
          `${DBS[kind]}: ${count.toLocaleString('en')} tokens seeded in ${Math.round((performance.now() - began) / 1000)} s, ${inTable.toLocaleString('en')} in the table`,
        );
        return added;
      };
      for (const size of PLAN.sizes) {
        // Tokens used once are in the table. When they fit in `size`, they are seeded first and
        // the cold-cache routes run on the cache-on server with the others; otherwise after the
        // stages at `size`, on a server of their own, and its rows say how big the table was.
        const cold = inTable + COLD_TOKENS <= size ? await add(COLD_TOKENS) : null;
        const filled = performance.now();
        await fill(dataSource, kind, user.id, size - inTable);
        inTable = Math.max(inTable, size);
        log(
          `${DBS[kind]}: ${inTable.toLocaleString('en')} tokens in the table (${Math.round((performance.now() - filled) / 1000)} s to fill)`,
        );
        results.rows.push(
          ...(await stagesAt(kind, size, database.url, tokens, cold && cold.map((token) => token.raw))),
        );
        if (!cold) {
          const { routes, warmup } = coldRoutes((await add(COLD_TOKENS)).map((token) => token.raw));
          results.rows.push(...(await session(kind, inTable, 'express', 'on', database.url, routes, warmup)));
        }
      }
      if (kind === 'sqlite' && PLAN.distinct > 0) {
        const distinct = (await add(PLAN.distinct)).map((token) => token.raw);
        const other = await dataSource
          .getRepository(User)
          .save({ username: 'bench-churn', passwordHash: user.passwordHash, blocked: false, isAdmin: false });
        const churn = {
          tokens: (await seed(dataSource, other, CHURN * CACHE_MAX)).map((token) => token.raw),
          user: other.id,
        };
        results.memory.points = await memory(database.url, distinct, churn, CACHE_MAX);
        const [empty, full] = [results.memory.points[0]!, results.memory.points.find((p) => p.verified === CACHE_MAX)!];
        results.memory.bytesPerEntry = { heap: (full.heapUsed - empty.heapUsed) / CACHE_MAX };
      }
      if (kind === 'postgres' && PLAN.revocations > 0) {
        const victims = await add(2 * PLAN.revocations);
        const manager = pool[0]!.raw;
        // The four servers start together: starting them is most of this stage's time.
        const env = (bus: string) => ({ DATABASE_URL: database.url, TOKEN_CACHE_BUS: bus });
        const started = await Promise.allSettled([
          ...[1, 2].map(() => start(env('postgres'))),
          ...[1, 2].map(() => start(env('redis://127.0.0.1:6379'))),
        ]);
        const servers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
        try {
          const failed = started.find((result) => result.status === 'rejected');
          if (failed) throw failed.reason;
          results.revocations['PostgreSQL LISTEN/NOTIFY'] = await crossInstance(
            [servers[0]!, servers[1]!],
            victims.slice(0, PLAN.revocations),
            manager,
          );
          results.revocations['Redis pub/sub'] = await crossInstance(
            [servers[2]!, servers[3]!],
            victims.slice(PLAN.revocations),
            manager,
          );
        } finally {
          await Promise.all(servers.map((server) => server.stop()));
        }
        for (const [bus, delays] of Object.entries(results.revocations))
          log(
            `revocation through ${bus}: p50 ${percentile(delays, 50).toFixed(1)} ms, p99 ${percentile(delays, 99).toFixed(1)} ms`,
          );
      }
    } finally {
      await dataSource.destroy().catch(() => undefined);
      await database.drop();
    }
  }

  if (PLAN.traffic) {
    const database = await createDatabase('postgres');
    try {
      results.traffic = (
        await realisticTraffic({ url: database.url, kind: 'postgres', quick: MODE !== 'full', secret: SECRET, log })
      ).rows;
    } catch (error) {
      results.notes.push(`The realistic traffic stage failed: ${String(error)}`);
      results.traffic = [
        {
          label: 'realistic traffic stage',
          value: `failed: ${String(error).split('\n')[0]}`,
          target: 'runs',
          pass: false,
        },
      ];
    } finally {
      await database.drop();
    }
  }

  results.targets = judge(results.rows, results.memory, results.revocations);
  results.minutes = Math.round((performance.now() - began) / 600) / 100;
  const out =
    argument('--out') ??
    (MODE === 'full'
      ? 'bench/RESULTS.md'
      : join(tmpdir(), `nestjs-access-tokens-bench-${MODE}-${new Date().toISOString().replace(/[:.]/g, '-')}.md`));
  writeFileSync(out, report(results));
  const json = argument('--json');
  if (json) writeFileSync(json, JSON.stringify(results, null, 2));
  const all = [
    ...results.targets.map((t) => ({ label: `${t.group}: ${t.target}`, value: t.measured, pass: t.pass })),
    ...results.traffic.map((t) => ({
      label: `Realistic traffic: ${t.label} (${t.target})`,
      value: t.value,
      pass: t.pass,
    })),
  ];
  process.stdout.write(
    `\nTargets:\n${all.map((t) => `${verdict(t.pass).padEnd(4)}  ${t.label}: ${t.value}`).join('\n')}\n`,
  );
  const judged = all.filter((t) => t.pass !== null);
  log(
    `${judged.filter((t) => t.pass).length} of ${judged.length} targets pass; ${out} written (${results.minutes} min)`,
  );
}

const table = (header: string[], align: string[], lines: string[][]) => [
  `| ${header.join(' | ')} |`,
  `| ${align.join(' | ')} |`,
  ...lines.map((cells) => `| ${cells.join(' | ')} |`),
];

function rowsTable(rows: Row[]): string[] {
  return table(
    [
      'database',
      'tokens in table',
      'server',
      'route',
      'cache',
      'requests / run',
      'CPU µs / req (median)',
      'ratio to its pair: median (range)',
      'req/s',
      'p50 ms',
      'p99 ms',
      'reads / 1,000 req',
      'writes / 1,000 req',
      'wrong status',
    ],
    ['---', '---:', '---', '---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:'],
    rows.map((r) => [
      DBS[r.db],
      r.tokens.toLocaleString('en'),
      SERVERS[r.server],
      r.route,
      r.cache,
      r.perRun.toLocaleString('en'),
      r.cpu.toFixed(1),
      r.pair ? `${ratioText(r)} of ${r.pair.split(':')[0]!.split(',')[0]}` : 'pair of the rows above',
      Math.round(r.rps).toLocaleString('en'),
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      String(r.readsPer1000),
      String(r.writesPer1000),
      r.wrongStatus.toLocaleString('en'),
    ]),
  );
}

function report(results: Results): string {
  const cpu = cpus();
  const { rows } = results;
  const stage = (name: Row['stage'], cache?: 'on' | 'off') =>
    rows.filter((r) => r.stage === name && (!cache || r.cache === cache || r.cache === '—'));
  const hitRows = stage('hit');
  const missRows = stage('miss');
  const { points, max, bytesPerEntry } = results.memory;
  const lines = [
    '# Benchmark results',
    '',
    `${MODE === 'full' ? 'A full run (`npm run bench`)' : `A ${MODE} run (\`npm run bench -- --${MODE}\`)`} on ${new Date().toISOString().slice(0, 10)}, ${results.minutes} minutes.`,
    '',
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node.js ${process.version}; ${results.versions.join(', ')}.`,
    '',
    '## How it is measured',
    '',
    `The demo API runs in a process of its own (Express, or Fastify with \`HTTP_ADAPTER=fastify\`), the load driver (\`bench/load.ts\`: ${CONNECTIONS} keep-alive connections, ${PIPELINING} pipelined requests each) in another, on the same machine. Each run sends a fixed number of requests, the same for every route of a server (${PLAN.missRequests.toLocaleString('en')} for a cold cache; otherwise as many as cost the server's reference route about ${PLAN.runCpuMs} ms of CPU in the warm-up; the JWT guard, about as much CPU) and reads the server's \`process.cpuUsage()\` (user + system, all its threads) before and after, through \`GET /__bench/stats\`: **CPU µs / req** is the difference divided by the requests served. Before each run the server makes a full garbage collection, not counted, so that every run starts from the same heap and pays for its own garbage rather than for a collection the runs before it made due (without it, the ratio of the reference route to itself spread over 0.83–1.41 in one session; with it, 0.98–1.10). The driver's own CPU does not count. Each server first runs every route twice, unmeasured (the JIT's warm-up); then come ${PLAN.rounds} round${PLAN.rounds === 1 ? '' : 's'}, each route once per round, in an order that rotates each round and runs backwards in rounds 3 and 4 of every four.`,
    '',
    'A row is compared with its **pair** on the same server, in the same round: the ratio of their CPU per request, then the median and the range over the rounds. req/s and latencies (medians over rounds) are information: the machine is shared, and its speed drifts by ±30% between runs. Reads are the SELECTs the database drivers ran (counted in `better-sqlite3` and `pg` themselves, whoever ran them: TypeORM, the module, the reference lookup); writes, their UPDATEs, INSERTs and DELETEs. Wrong status: answers other than 200 (401 for refusals).',
    '',
    `Valid tokens cycle over ${POOL} tokens, each sent once before every run with the cache on, so that runs measure cache hits, on servers whose \`cache.ttlSeconds\` is an hour (bench-only \`BENCH_CACHE_TTL\`: with the default 10 s, each token costs a read every 10 s, which could fall in a run); a token used more than \`tokens.lastUsedIntervalSeconds\` (60 s) before records its use (a write) when it comes round again, which can fall in a run; refused tokens cycle over ${POOL} of each kind. A cold cache: the cache on, each request a token the server has not seen (${PLAN.missRequests.toLocaleString('en')} new ones each run). Tokens are seeded unused: a token's first use in \`tokens.lastUsedIntervalSeconds\` (60 s) records it (a write not awaited by the request, counted).`,
    '',
    'Reference routes (bench-only code, like the JWT guard), answering what `GET /users/me` answers:',
    '- `GET /reference/me`: SHA-256 of the bearer token and a lookup in a `Map`, then `request.user`; no expiry, revocation or scope check. The floor for a cache hit.',
    "- `GET /reference/db/me`: SHA-256 of the bearer token and one prepared statement on the raw driver (`better-sqlite3` `prepare().get()`, `pg` named query) reading the token's row joined to its user's, every column (what a verification needs: expiry, revocation, scopes, the user), 401 when not found; it checks nothing it reads. The floor for a cache miss.",
    '',
    '## Cache hits',
    '',
    'Every row against the reference guard (`GET /reference/me`) of its server and round.',
    '',
    ...rowsTable(hitRows),
    '',
    '## Refusals',
    '',
    `Through \`GET /users/me\` with the cache on, against a valid cached token on the same server and round. Garbage: a signed token with its last (CRC) character changed. Forged: right form and CRC, MAC of another secret. Expired: signed with an expiry a minute past. Unknown: signed with the servers' secret, in no table. The module remembers the hash of an unknown or expired signed token for 60 s (or \`cache.ttlSeconds\`, if shorter): the ${POOL} unknown ones cost a read each, and the expired ones an HMAC each, in a run that follows a pause of more than 60 s. The floor: \`GET /jwt/me\` without a token, whose guard (bench-only, like the JWT guard) throws \`UnauthorizedException\` before doing anything: what any 401 costs in Nest, whose exception path (the filter, the error body) costs more than a handler's answer.`,
    '',
    ...rowsTable(stage('refusal')),
    '',
    '## Cache misses',
    '',
    'The module against the reference lookup on the raw driver (`GET /reference/db/me`), on the same server and round: with the cache off (one server, valid tokens cycling), and on a cold cache (the cache-on server of the hits above, each token used once; the reference gets as many tokens of its own).',
    '',
    ...rowsTable(missRows),
    '',
  ];
  const scale = PLAN.kinds.flatMap((db) =>
    [L.hit, L.off, L.cold].flatMap((label) => {
      const sized = rows
        .filter((r) => r.db === db && r.server === 'express' && r.route === label)
        .sort((x, y) => x.tokens - y.tokens);
      const [small, large] = [sized[0], sized.at(-1)];
      return small && large && small !== large
        ? [
            [
              DBS[db],
              label,
              small.tokens.toLocaleString('en'),
              small.cpu.toFixed(1),
              large.tokens.toLocaleString('en'),
              large.cpu.toFixed(1),
              (large.cpu / small.cpu).toFixed(2),
            ],
          ]
        : [];
    }),
  );
  if (scale.length > 0) {
    lines.push(
      '## Scale',
      '',
      'CPU per request (Express) with the most tokens in the table against the fewest: medians of two different servers, one per table size, so machine drift between them is not cancelled as it is within a round. The cold-cache rows run on a table that also holds the tokens they present, once each.',
      '',
      ...table(
        ['database', 'row', 'tokens', 'CPU µs / req', 'tokens', 'CPU µs / req', 'ratio'],
        ['---', '---', '---:', '---:', '---:', '---:', '---:'],
        scale,
      ),
      '',
    );
  }
  if (points.length > 0) {
    lines.push(
      '## Memory',
      '',
      `One server on SQLite (cache on, \`cache.max\` ${max.toLocaleString('en')}) verifies distinct tokens, each once, in its own process (\`POST /__bench/verify\`, ${VERIFY_BATCH} tokens a request: what a request bearing each does to the cache, without an HTTP request for each); RSS and V8 heap after V8's last-resort garbage collection, which gives back to the system what the heap no longer uses (after a plain full collection, RSS also holds the heap's empty pages, which grew under load: 243 MB after 20,000 tokens and 363 MB after 1,000,000, with 68 MB of heap used at both, in one run). Before the first point, another user's ${(CHURN * max).toLocaleString('en')} tokens were verified, under the same load (they fill the cache and push entries out of it), then revoked, which empties it, so that the points measure the cache rather than a young process. Bytes per cache entry: the heap's growth from the empty cache to a full one (${max.toLocaleString('en')} entries), divided by ${max.toLocaleString('en')}${bytesPerEntry ? `: **${Math.round(bytesPerEntry.heap).toLocaleString('en')} bytes**` : ''} (RSS moves by more than a cache's worth with what the process keeps of its load, so it gives no figure per entry). Anonymous: RSS without mapped files (\`RssAnon\` in /proc): the process's own memory, V8's heap and native allocations. Heap: used, and its size (\`heapTotal\`); external: buffers and native memory V8 knows of.`,
      '',
      ...table(
        ['distinct tokens verified', 'RSS MB', 'of it anonymous MB', 'heap used MB', 'heap total MB', 'external MB'],
        ['---:', '---:', '---:', '---:', '---:', '---:'],
        points.map((p) => [
          p.verified.toLocaleString('en'),
          ...[p.rss, p.rssAnon, p.heapUsed, p.heapTotal, p.external].map((bytes) =>
            bytes === null ? 'n/a' : (bytes / 1e6).toFixed(1),
          ),
        ]),
      ),
      '',
    );
  }
  if (Object.keys(results.revocations).length > 0) {
    lines.push(
      '## Revocation across instances',
      '',
      "Two servers on one PostgreSQL database. For each token: verified (and cached) on B, revoked through A's `DELETE /tokens/:id`, then B asked in a loop; the delay runs from A's 204 to B's first 401.",
      '',
      ...table(
        ['bus', 'revocations', 'p50 ms', 'p99 ms', 'max ms'],
        ['---', '---:', '---:', '---:', '---:'],
        Object.entries(results.revocations).map(([bus, values]) => [
          bus,
          String(values.length),
          percentile(values, 50).toFixed(1),
          percentile(values, 99).toFixed(1),
          Math.max(...values).toFixed(1),
        ]),
      ),
      '',
      'Without a bus, or if a message is lost, another instance sees a revocation within the cache TTL (10 s by default).',
      '',
    );
  }
  if (results.traffic.length > 0) {
    lines.push(
      '## Realistic traffic',
      '',
      "PostgreSQL, from `bench/traffic.ts` (its own fresh database). Two bench servers with a Redis bus, each of whose caches holds the population; before the stream, each token is verified once on each instance (in the servers' processes, `POST /__bench/verify`), as on instances that have run longer than a token's period. Then an open-loop stream of `GET /users/me` at a Zipf-like popularity (s = 1), each token used once every 30 s on average, alternating between the instances, while tokens are revoked through one instance, about one a second, and the other is asked every 2 ms until it refuses. A revocation drops that token's verification on both (a user's other tokens stay cached).",
      '',
      ...table(
        ['measure', 'value', 'target', 'result'],
        ['---', '---:', '---', '---'],
        results.traffic.map((t) => [t.label, t.value, t.target, verdict(t.pass)]),
      ),
      '',
    );
  }
  lines.push(
    '## Targets',
    '',
    ...table(
      ['group', 'target', 'measured: median (range over rounds)', 'result'],
      ['---', '---', '---', '---'],
      results.targets.map((t) => [t.group, t.target, t.measured, verdict(t.pass)]),
    ),
    '',
  );
  if (!PLAN.traffic) results.notes.push('No realistic traffic stage in this run.');
  if (scale.length === 0) results.notes.push('One table size only: no scale targets in this run.');
  if (PLAN.revocations === 0) results.notes.push('No revocation stage in this run (it needs PostgreSQL and Redis).');
  if (results.notes.length > 0) lines.push(...results.notes.map((note) => `- ${note}`), '');
  return lines.join('\n');
}

if (!existsSync('dist/bench/server.js')) throw new Error('Build the bench first: npm run build && npm run build:bench');
await main();
