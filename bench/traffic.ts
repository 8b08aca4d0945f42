import bcrypt from 'bcrypt';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { Fingerprinter, generateToken, hashToken, signingKeys, tokenHint, type DerivedKeys } from '#internal';
import { connectionFromUrl, schema } from '../src/database.js';
import { startServer, type ServerProcess } from './server-process.js';

/**
 * The "realistic traffic" stage of `npm run bench` (issue 14): two instances of the bench server
 * on one database, sharing cache invalidations over Redis, under an open-loop stream of
 * `GET /users/me` with a Zipf-like popularity (s = 1) over a token population, each token used
 * once every 30 seconds on average, while tokens are revoked through one instance and the other
 * is watched for the refusal.
 *
 * Before the stream, each token is verified once on each instance: the state of instances that
 * have run for longer than a token's period, whose caches (sized for the population) hold every
 * live token and refresh them while the bus is up. Without it, a short window would mostly measure
 * first uses. The servers trust a verification for `BUS_TTL` while the bus is up, so that every
 * entry is refreshed within the window.
 */

/** What `npm run bench` passes to the stage. */
export interface RealisticTrafficOptions {
  /** DATABASE_URL of an empty, fresh database: a PostgreSQL database of its own, or `sqlite:<file>`. */
  url: string;
  kind: 'sqlite' | 'postgres';
  /** The short plan: 5,000 tokens, 15 s of traffic, 5 revocations. */
  quick: boolean;
  /** The servers' TOKEN_SECRET; the stage signs the tokens it seeds with keys derived from it. */
  secret: string;
  /** Prints a progress line. */
  log: (line: string) => void;
}

/** One line of the results table. */
export interface TrafficRow {
  label: string;
  value: string;
  target: string;
  pass: boolean;
}

const PLANS = {
  full: { tokens: 100_000, users: 1_000, seconds: 120, revocations: 100 },
  quick: { tokens: 5_000, users: 50, seconds: 15, revocations: 5 },
} as const;
/** Seconds between two uses of a token, on average over the population: fixes the rate. */
const USE_EVERY = 30;
/** The share of the traffic's time before the measured window. */
const WARMUP_SHARE = 0.2;
/** Requests in flight past which the stream counts a request as dropped rather than queue it. */
const MAX_IN_FLIGHT = 256;
/** The p99 latency past which the servers are taken not to keep up: queues are building. */
const SUSTAINED_P99_MS = 50;
/** The most times the rate is lowered when the servers cannot keep up with it. */
const MAX_STEP_DOWNS = 3;
const QUERIES_TARGET = 50;
const REVOCATION_TARGET_MS = 100;
const POLL_EVERY_MS = 2;
const POLL_FOR_MS = 5_000;
const BATCH = 1_000;
/**
 * The servers' trust in a cached verification while the bus is up, seconds: less than the default
 * 300, so that the window holds the background refresh of every entry (at half of it, then every
 * quarter), which with the default would start only past the window. That refresh reads more
 * often than with the default: the queries counted are an upper bound.
 */
const BUS_TTL = 120;
/** Requests in flight per instance while each token is used once before the stream, and tokens per request. */
const TOUCH_CONCURRENCY = 2;
const TOUCH_BATCH = 150;
/** Seeded tokens expire in 30 days, a whole second, as the module stores them. */
const LIFETIME = 30 * 86_400;

interface Stats {
  queries: number;
  rss: number;
  /** Microseconds of user and system CPU (`process.cpuUsage()`); older servers do not report it. */
  cpu?: number;
  /** Milliseconds of garbage-collection pauses so far, and the longest of them. */
  gc?: number;
  gcLongest?: number;
  heapUsed?: number;
  /** The queries by kind, where the server counts them. */
  reads?: number;
  updates?: number;
  inserts?: number;
  deletes?: number;
}

interface SeededUser {
  id: number;
  username: string;
  passwordHash: string;
}

/**
 * Runs the stage against the database at `url` and returns its rows. Seeds users and tokens,
 * starts two bench servers (`dist/bench/server.js`) with a Redis bus at 127.0.0.1:6379, and always
 * stops them.
 *
 * @example
 * const { rows } = await realisticTraffic({ url: database.url, kind: 'postgres', quick: false, secret: SECRET, log });
 */
export async function realisticTraffic(options: RealisticTrafficOptions): Promise<{ rows: TrafficRow[] }> {
  const { url, kind, quick, secret, log } = options;
  const plan = quick ? PLANS.quick : PLANS.full;
  const keys = signingKeys([secret]).current;

  const seeded = await seedDatabase(url, kind, plan, keys, log);
  const env = {
    NODE_ENV: 'production',
    TOKEN_SECRET: secret,
    DATABASE_URL: url,
    TOKEN_CACHE_BUS: 'redis://127.0.0.1:6379',
    // A cache that holds the population, as an app with that many live tokens would size it.
    BENCH_CACHE_MAX: String(plan.tokens + plan.revocations + 1_000),
    BENCH_CACHE_BUS_TTL: String(BUS_TTL),
  };
  const servers: ServerProcess[] = [];
  const stream = new Stream();
  try {
    // One after the other: each checks the migrations table at start-up, and need not race on it.
    for (let i = 0; i < 2; i++) servers.push(await startServer(env, 'dist/bench/server.js', ['--expose-gc']));
    log(`traffic: two servers with a Redis bus at ${servers.map((s) => s.url).join(' and ')}`);
    stream.servers = servers;
    await useEachOnce(stream, seeded.tokens, log);
    return { rows: await measure(stream, seeded, plan, log) };
  } finally {
    await stream.stop();
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/**
 * Migrates the fresh database and seeds it with SQL: `plan.users` users, `plan.tokens` tokens for
 * the traffic (token i belongs to user i mod users, so that the popular ones are spread over
 * users) and `plan.revocations` more, for users across the range, that only the revocations use.
 */
async function seedDatabase(
  url: string,
  kind: 'sqlite' | 'postgres',
  plan: (typeof PLANS)[keyof typeof PLANS],
  keys: DerivedKeys,
  log: (line: string) => void,
) {
  const started = performance.now();
  const dataSource = new DataSource({
    ...connectionFromUrl(url),
    entities: [...schema.entities],
    migrations: [...schema.migrations],
  });
  await dataSource.initialize();
  try {
    await dataSource.runMigrations();
    const placeholder = kind === 'postgres' ? (i: number) => `$${i + 1}` : () => '?';
    const insert = async (table: string, columns: string[], rows: unknown[][]) => {
      for (let start = 0; start < rows.length; start += BATCH) {
        const batch = rows.slice(start, start + BATCH);
        const tuples = batch.map(
          (_, row) => `(${columns.map((_, column) => placeholder(row * columns.length + column)).join(', ')})`,
        );
        await dataSource.query(
          `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`,
          batch.flat(),
        );
      }
    };

    // One bcrypt hash for all: only the fingerprint reads it, and it differs by username anyway.
    const passwordHash = await bcrypt.hash('traffic password', 4);
    await insert(
      'users',
      ['username', 'password_hash'],
      Array.from({ length: plan.users }, (_, i) => [`traffic_${i}`, passwordHash]),
    );
    const users: SeededUser[] = (
      (await dataSource.query('SELECT id, username, password_hash FROM users ORDER BY id')) as {
        id: number | string;
        username: string;
        password_hash: string;
      }[]
    ).map((row) => ({ id: Number(row.id), username: row.username, passwordHash: row.password_hash }));
    const fingerprinter = new Fingerprinter(['username', 'passwordHash'], [keys.fingerprint]);
    const fingerprints = users.map((user) => fingerprinter.of(user));

    const now = Math.floor(Date.now() / 1000) * 1000;
    const expiresAt = now + LIFETIME * 1000;
    const make = (owner: number, name: string) => {
      const raw = generateToken('nat', keys, expiresAt);
      const row = [
        randomUUID(),
        String(users[owner]!.id),
        'personal',
        name,
        hashToken(raw),
        tokenHint(raw),
        '["*"]',
        now,
        expiresAt,
        LIFETIME,
        fingerprints[owner],
      ];
      return { raw, row };
    };
    const traffic = Array.from({ length: plan.tokens }, (_, i) => make(i % users.length, `traffic ${i}`));
    const victims = Array.from({ length: plan.revocations }, (_, i) =>
      make(Math.floor(((i + 0.5) * users.length) / plan.revocations), `revoked ${i}`),
    );
    const columns = [
      'id',
      'user_id',
      'kind',
      'name',
      'token_hash',
      'hint',
      'scopes',
      'created_at',
      'expires_at',
      'lifetime',
      'fingerprint',
    ];
    await insert(
      'access_tokens',
      columns,
      [...traffic, ...victims].map((token) => token.row),
    );
    log(
      `traffic: ${kind} seeded with ${plan.users.toLocaleString('en')} users, ${(plan.tokens + plan.revocations).toLocaleString('en')} tokens (${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
    return { tokens: traffic.map((token) => token.raw), victims: victims.map((token) => token.raw) };
  } finally {
    await dataSource.destroy();
  }
}

/** What the stream counted over one phase. */
class Tally {
  readonly started = performance.now();
  scheduled = 0;
  dropped = 0;
  ok = 0;
  non2xx = 0;
  errors = 0;
  /** Answers per instance, the revocation stage's requests included. */
  readonly served = [0, 0];
  readonly latencies: number[] = [];
  readonly statuses = new Map<number, number>();

  get answered(): number {
    return this.ok + this.non2xx;
  }
}

/** What happened in one second of the stream. */
interface Second {
  answered: number;
  dropped: number;
  slowest: number;
}

/**
 * An open-loop stream of `GET /users/me`: requests leave at the rate asked for whatever the
 * answers' pace, alternating between the instances, each with a token drawn from a Zipf-like law
 * (s = 1) over the first `population` tokens. Past MAX_IN_FLIGHT unanswered, a request is dropped
 * and counted: the servers are not keeping up.
 */
class Stream {
  servers: ServerProcess[] = [];
  tally = new Tally();
  inFlight = 0;
  /** Per second since the stream first ran, to find when the servers stalled. */
  readonly timeline: Second[] = [];
  /** When the stream first ran; `timeline` counts seconds from it. */
  firstRun = 0;
  /** Keep-alive sockets for the traffic, and apart for the revocation stage, so it never queues behind it. */
  // Idle sockets close before the servers' 5 s keep-alive timeout would close them under a request.
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT, timeout: 4_000 });
  readonly control = new http.Agent({ keepAlive: true, maxSockets: 4, timeout: 4_000 });
  private tokens: string[] = [];
  private cumulative: Float64Array = new Float64Array(0);
  private rate = 0;
  private origin = 0;
  private sent = 0;
  private next = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly drained: (() => void)[] = [];

  /** (Re)starts the stream at `rate` requests per second over the first `population` of `tokens`. */
  run(tokens: string[], population: number, rate: number): void {
    this.tokens = tokens.slice(0, population);
    this.cumulative = zipf(population);
    this.rate = rate;
    this.origin = performance.now();
    this.firstRun ||= this.origin;
    this.sent = 0;
    // About one request a tick at low rates, where a 1 ms timer would cost more than the requests.
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), Math.min(10, Math.max(1, Math.floor(1000 / rate))));
  }

  /** Starts a new tally and returns the one that ends. */
  restart(): Tally {
    const ended = this.tally;
    this.tally = new Tally();
    return ended;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // A server that stopped answering is not waited for long.
    if (this.inFlight > 0)
      await Promise.race([new Promise<void>((resolve) => this.drained.push(resolve)), pause(5_000)]);
    this.agent.destroy();
    this.control.destroy();
  }

  /** Sends `method path` to instance `index` on the control sockets; the answer's status. */
  ask(index: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<number> {
    return send(this.control, this.servers[index]!, method, path, headers, body).then((status) => {
      this.tally.served[index] += 1;
      return status;
    });
  }

  private second(): Second {
    const at = Math.floor((performance.now() - this.firstRun) / 1000);
    for (let i = this.timeline.length; i <= at; i++) this.timeline.push({ answered: 0, dropped: 0, slowest: 0 });
    return this.timeline[at]!;
  }

  private tick(): void {
    const due = Math.floor(((performance.now() - this.origin) / 1000) * this.rate);
    for (; this.sent < due; this.sent++) {
      const tally = this.tally;
      tally.scheduled += 1;
      if (this.inFlight >= MAX_IN_FLIGHT) {
        tally.dropped += 1;
        this.second().dropped += 1;
        continue;
      }
      const index = this.next;
      this.next = 1 - index;
      const token = this.tokens[pick(this.cumulative)]!;
      const began = performance.now();
      this.inFlight += 1;
      send(this.agent, this.servers[index]!, 'GET', '/users/me', { authorization: `Bearer ${token}` })
        .then(
          (status) => {
            // Counted in the tally current at the answer, as the server's counters are.
            const current = this.tally;
            const latency = performance.now() - began;
            current.served[index] += 1;
            current.latencies.push(latency);
            const second = this.second();
            second.answered += 1;
            second.slowest = Math.max(second.slowest, latency);
            current.statuses.set(status, (current.statuses.get(status) ?? 0) + 1);
            if (status >= 200 && status < 300) current.ok += 1;
            else current.non2xx += 1;
          },
          () => {
            this.tally.errors += 1;
          },
        )
        .finally(() => {
          this.inFlight -= 1;
          if (this.inFlight === 0) this.drained.splice(0).forEach((resolve) => resolve());
        });
    }
  }
}

/**
 * Uses each token once on each instance, through the bench server's `POST /__bench/verify`
 * (`TOUCH_BATCH` tokens a request, `TOUCH_CONCURRENCY` requests in flight per instance): what a
 * request bearing it does to the instance, without paying HTTP for each of 100,000 tokens.
 */
async function useEachOnce(stream: Stream, tokens: string[], log: (line: string) => void): Promise<void> {
  const started = performance.now();
  let refused = 0;
  await Promise.all(
    stream.servers.flatMap((server) => {
      let next = 0;
      return Array.from({ length: TOUCH_CONCURRENCY }, async () => {
        while (next < tokens.length) {
          const batch = tokens.slice(next, (next += TOUCH_BATCH));
          const status = await send(
            stream.agent,
            server,
            'POST',
            '/__bench/verify',
            { 'content-type': 'application/json' },
            JSON.stringify({ tokens: batch }),
          );
          if (status !== 201) refused += batch.length;
        }
      });
    }),
  );
  log(
    `traffic: each of ${thousands(tokens.length)} tokens used once on each instance (${((performance.now() - started) / 1000).toFixed(0)} s${refused ? `, ${refused} refused` : ''})`,
  );
  if (refused) throw new Error(`batches of ${refused} seeded tokens were refused (409) before the stream`);
}

/** The cumulative weights 1/1, 1/2, … 1/n of a Zipf law with s = 1. */
function zipf(n: number): Float64Array {
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let rank = 0; rank < n; rank++) cumulative[rank] = sum += 1 / (rank + 1);
  return cumulative;
}

/** A rank drawn from the law of `cumulative`, by binary search. */
function pick(cumulative: Float64Array): number {
  const target = Math.random() * cumulative[cumulative.length - 1]!;
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (cumulative[middle]! < target) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Sends a request; its answer's status. A kept-alive socket the server closed as the request left
 * is no answer of the server's: the request is sent again, once, as Node's documentation advises.
 */
function send(
  agent: http.Agent,
  server: ServerProcess,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
  retried = false,
): Promise<number> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const request = http.request({ agent, hostname, port, method, path, headers }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
      response.once('error', reject);
    });
    request.once('error', (error: NodeJS.ErrnoException) => {
      if (!retried && request.reusedSocket && error.code === 'ECONNRESET')
        resolve(send(agent, server, method, path, headers, body, true));
      else reject(error);
    });
    request.end(body);
  });
}

/** Busy and total CPU time of the machine so far, in ms, all cores. */
function machineCpu(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const sum = times.user + times.nice + times.sys + times.irq + times.idle;
    total += sum;
    busy += sum - times.idle;
  }
  return { busy, total };
}

async function stats(server: ServerProcess): Promise<Stats> {
  return (await fetch(`${server.url}/__bench/stats`)).json() as Promise<Stats>;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values: number[], p: number) =>
  [...values].sort((x, y) => x - y)[
    Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1))
  ] ?? NaN;
const thousands = (value: number) => Math.round(value).toLocaleString('en');

/**
 * Warms up at the planned rate and, if the servers do not keep up (over the warm-up's second half,
 * requests dropped, fewer than 95% answered, or a p99 latency past SUSTAINED_P99_MS), lowers the rate to 85% of what they answered and
 * shrinks the population to rate × USE_EVERY, then warms up again; then measures, with the
 * revocations spread over the window.
 */
async function measure(
  stream: Stream,
  seeded: { tokens: string[]; victims: string[] },
  plan: (typeof PLANS)[keyof typeof PLANS],
  log: (line: string) => void,
): Promise<TrafficRow[]> {
  const warmup = plan.seconds * WARMUP_SHARE * 1000;
  const window = plan.seconds * 1000 - warmup;
  let population = seeded.tokens.length;
  let rate = population / USE_EVERY;
  const planned = rate;
  let sustained = false;
  for (let attempt = 0; attempt <= MAX_STEP_DOWNS && !sustained; attempt++) {
    stream.run(seeded.tokens, population, rate);
    stream.restart();
    log(
      `traffic: warming up ${(warmup / 1000).toFixed(0)} s at ${thousands(rate)} req/s over ${thousands(population)} tokens`,
    );
    await pause(warmup / 2);
    stream.restart();
    await pause(warmup / 2);
    const half = stream.restart();
    const seconds = (performance.now() - half.started) / 1000;
    const answeredRate = half.answered / seconds;
    sustained =
      half.dropped === 0 &&
      half.errors === 0 &&
      half.answered >= 0.95 * half.scheduled &&
      percentile(half.latencies, 99) <= SUSTAINED_P99_MS;
    log(
      `traffic: warm-up answered ${thousands(answeredRate)} req/s of ${thousands(half.scheduled / seconds)} sent, ${half.dropped} dropped, p99 ${percentile(half.latencies, 99).toFixed(1)} ms`,
    );
    if (!sustained && attempt < MAX_STEP_DOWNS) {
      rate = Math.max(10, Math.floor(0.85 * Math.min(answeredRate, rate)));
      population = Math.min(seeded.tokens.length, Math.round(rate * USE_EVERY));
      log(`traffic: the servers do not keep up; down to ${thousands(rate)} req/s over ${thousands(population)} tokens`);
    }
  }

  const before = await Promise.all(stream.servers.map(stats));
  stream.restart();
  const began = performance.now();
  const ownBefore = process.cpuUsage();
  const machineBefore = machineCpu();
  const revocations = revokeDuring(stream, seeded.victims, window, log);
  const progress = setInterval(() => {
    const { tally } = stream;
    log(
      `traffic: ${thousands(tally.answered)} answered in ${((performance.now() - began) / 1000).toFixed(0)} s, ${stream.inFlight} in flight, ${tally.dropped} dropped, ${tally.non2xx} non-2xx`,
    );
  }, 15_000);
  let delays: (number | null)[];
  try {
    // The last revocation may still be watched at the window's end: the window waits for it.
    [, delays] = await Promise.all([pause(window), revocations]);
  } finally {
    clearInterval(progress);
  }
  const after = await Promise.all(stream.servers.map(stats));
  const measured = stream.restart();
  const seconds = (performance.now() - began) / 1000;
  const own = process.cpuUsage(ownBefore);
  const machineAfter = machineCpu();
  const busy = (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total);
  const generator = (own.user + own.system) / measured.scheduled;
  const from = Math.floor((began - stream.firstRun) / 1000);
  const stalls = stream.timeline
    .map((second, at) => ({ ...second, at }))
    .filter((second) => second.at >= from && (second.dropped > 0 || second.slowest > 100))
    .sort((x, y) => y.slowest - x.slowest)
    .slice(0, 5)
    .sort((x, y) => x.at - y.at);
  if (stalls.length)
    log(
      `traffic: slowest seconds of the window: ${stalls.map((s) => `${s.at - from} s (slowest ${s.slowest.toFixed(0)} ms, ${s.dropped} dropped)`).join(', ')}`,
    );

  const answered = measured.served[0]! + measured.served[1]!;
  const queries = after.reduce((sum, s, i) => sum + s.queries - before[i]!.queries, 0);
  const perThousand = (queries / answered) * 1000;
  const kinds = (['reads', 'updates', 'inserts', 'deletes'] as const).flatMap((kind) => {
    if (!after.every((s, i) => typeof s[kind] === 'number' && typeof before[i]![kind] === 'number')) return [];
    const count = after.reduce((sum, s, i) => sum + s[kind]! - before[i]![kind]!, 0);
    return [`${kind} ${((count / answered) * 1000).toFixed(1)}`];
  });
  const cpu = after.every((s, i) => typeof s.cpu === 'number' && typeof before[i]!.cpu === 'number')
    ? after.map((s, i) => (s.cpu! - before[i]!.cpu!) / measured.served[i]!)
    : null;
  // Microseconds of GC pauses per request, and the heaviest second's worth, to tell a stall's cause.
  const gc = after.every((s, i) => typeof s.gc === 'number' && typeof before[i]!.gc === 'number')
    ? after.map((s, i) => ((s.gc! - before[i]!.gc!) * 1000) / measured.served[i]!)
    : null;
  const seen = delays.filter((delay): delay is number => delay !== null);
  const p99 = percentile(seen, 99);
  const statuses = [...measured.statuses]
    .filter(([status]) => status < 200 || status >= 300)
    .map(([status, count]) => `${count} × ${status}`);
  log(
    `traffic: ${thousands(answered)} answered in ${seconds.toFixed(0)} s, ${queries} queries (${perThousand.toFixed(1)} / 1,000), revocations seen in ${seen.map((d) => d.toFixed(1)).join(', ')} ms`,
  );

  return [
    {
      label: `queries per 1,000 requests (${thousands(population)} tokens, Zipf, 2 instances, Redis bus, cache.busTtlSeconds ${BUS_TTL})`,
      value: kinds.length ? `${perThousand.toFixed(1)} (${kinds.join(', ')})` : perThousand.toFixed(1),
      target: `≤ ${QUERIES_TARGET}`,
      pass: perThousand <= QUERIES_TARGET,
    },
    {
      label: 'revocation seen on the other instance, p99',
      value:
        seen.length === 0
          ? `never seen in ${POLL_FOR_MS / 1000} s`
          : `${p99.toFixed(1)} ms (p50 ${percentile(seen, 50).toFixed(1)}, max ${Math.max(...seen).toFixed(1)}; ${seen.length} of ${delays.length} seen within ${POLL_FOR_MS / 1000} s)`,
      target: `≤ ${REVOCATION_TARGET_MS} ms`,
      pass: seen.length === delays.length && delays.length > 0 && p99 <= REVOCATION_TARGET_MS,
    },
    {
      label: 'server CPU per request',
      value: cpu
        ? `${((cpu[0]! + cpu[1]!) / 2).toFixed(0)} µs (A ${cpu[0]!.toFixed(0)}, B ${cpu[1]!.toFixed(0)})${gc ? `, of which GC pauses ${((gc[0]! + gc[1]!) / 2).toFixed(0)} µs (the longest since start: ${after.map((s) => `${(s.gcLongest ?? 0).toFixed(0)} ms`).join(' and ')})` : ''}; heap ${after.map((s) => `${((s.heapUsed ?? 0) / 1e6) | 0} MB`).join(' and ')}`
        : 'n/a (the bench server reports no cpu)',
      target: 'report',
      pass: true,
    },
    {
      label: 'requests / rate / duration',
      value: `${thousands(measured.answered)} requests at ${thousands(measured.answered / seconds)} req/s (planned ${thousands(planned)}${sustained ? '' : ', not sustained'}; each token once per ${(population / (measured.answered / seconds)).toFixed(0)} s on average) in ${seconds.toFixed(0)} s after ${(warmup / 1000).toFixed(0)} s of warm-up; latency p50 ${percentile(measured.latencies, 50).toFixed(1)} ms, p99 ${percentile(measured.latencies, 99).toFixed(1)} ms; ${measured.dropped} dropped; machine CPU ${(busy * 100).toFixed(0)}% of ${cpus().length} cores, load generator ${generator.toFixed(0)} µs per request`,
      target: 'report',
      pass: true,
    },
    {
      label: 'non-2xx answers to valid tokens',
      value:
        measured.non2xx + measured.errors === 0
          ? '0'
          : `${[...statuses, measured.errors ? `${measured.errors} connection errors` : ''].filter(Boolean).join(', ')}`,
      target: '0',
      pass: measured.non2xx === 0 && measured.errors === 0,
    },
  ];
}

/**
 * Revokes each victim once, spread over `window` ms: verified (and so cached) on instance B, then
 * revoked through A's `POST /tokens/revoke`; B is then asked every POLL_EVERY_MS until it answers
 * 401, for at most POLL_FOR_MS. Each delay runs from A's answer to B's first 401; `null` if never.
 */
async function revokeDuring(
  stream: Stream,
  victims: string[],
  window: number,
  log: (line: string) => void,
): Promise<(number | null)[]> {
  const began = performance.now();
  const delays: (number | null)[] = [];
  for (const [i, victim] of victims.entries()) {
    await pause(Math.max(0, began + ((i + 0.5) * window) / victims.length - performance.now()));
    const onB = () => stream.ask(1, 'GET', '/users/me', { authorization: `Bearer ${victim}` });
    const first = await onB();
    if (first !== 200) log(`traffic: a token to revoke answered ${first} on B before its revocation`);
    const revoked = await stream.ask(
      0,
      'POST',
      '/tokens/revoke',
      { 'content-type': 'application/json' },
      JSON.stringify({ token: victim }),
    );
    if (revoked !== 200) log(`traffic: POST /tokens/revoke answered ${revoked}`);
    const start = performance.now();
    let delay: number | null = null;
    while (performance.now() - start < POLL_FOR_MS) {
      if ((await onB()) === 401) {
        delay = performance.now() - start;
        break;
      }
      await pause(POLL_EVERY_MS);
    }
    delays.push(delay);
  }
  return delays;
}
