import 'reflect-metadata';
import {
  Body,
  ConflictException,
  Controller,
  Get,
  Injectable,
  Module,
  Post,
  Query,
  Req,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { AuthGuard } from '@nestjs/passport';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PerformanceObserver } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { ACCESS_TOKEN_STRATEGY, Public, TokensService } from 'nestjs-access-tokens';
import { hashToken } from '#internal';
import { AppModule } from '../src/app.module.js';
import { demoConfigFromEnv, positiveFromEnv } from '../src/demo-env.js';
import { configureDemoApp, createHttpAdapter, DEMO_APP_OPTIONS } from '../src/http.js';
import { publicUser, type User } from '../src/users/user.entity.js';
import { BENCH_JWT_SECRET } from './bench.constants.js';

/**
 * The demo API as `npm start` runs it, plus what only the benchmark needs: reference guards and a
 * JWT guard written as the NestJS documentation writes it (for comparison; not part of the
 * product), a route behind the module's Passport strategy, and counters of queries and CPU time.
 */

/** What the server has done so far, as `GET /__bench/stats` answers it. */
export interface BenchStats {
  /** Every statement the database drivers ran, whoever ran it (TypeORM, the module, the reference lookup). */
  queries: number;
  /** SELECTs. */
  reads: number;
  updates: number;
  inserts: number;
  deletes: number;
  /** `process.cpuUsage()`, user + system, µs: all threads of the process (GC helpers, libuv pool). */
  cpu: number;
  /** The same, user and system apart. */
  user: number;
  system: number;
  /** Milliseconds of garbage-collection pauses on the main thread (`PerformanceObserver`, kind `gc`). */
  gc: number;
  /** The longest single pause so far, milliseconds. */
  gcLongest: number;
  /** `process.memoryUsage()`: the V8 heap's size (used or not) and memory outside it (buffers, native). */
  heapTotal: number;
  external: number;
  /** Resident memory of the process's own (anonymous) pages, bytes, without mapped files; `null` off Linux. */
  rssAnon: number | null;
  /** `process.memoryUsage()`, bytes, after a full garbage collection when asked for. */
  rss: number;
  heapUsed: number;
}

/** Statements the database drivers ran, by kind. */
const counts = { queries: 0, reads: 0, updates: 0, inserts: 0, deletes: 0 };

function count(sql: string): void {
  counts.queries += 1;
  const first = sql.trimStart().slice(0, 6).toUpperCase();
  if (first === 'SELECT') counts.reads += 1;
  else if (first === 'UPDATE') counts.updates += 1;
  else if (first === 'INSERT') counts.inserts += 1;
  else if (first === 'DELETE') counts.deletes += 1;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Counts every statement at the drivers, below TypeORM, so that a query the module runs on the
 * raw driver counts as one through TypeORM does: better-sqlite3's statements (the prototype all
 * of them share) and `pg`'s `Client#query` (which `Pool#query` calls too). A string comparison
 * per statement costs nothing next to the statement.
 */
function countDriverStatements(): void {
  const require = createRequire(import.meta.url);
  const BetterSqlite3 = require('better-sqlite3') as new (file: string) => {
    prepare(sql: string): object;
    close(): void;
  };
  const memory = new BetterSqlite3(':memory:');
  const statement = Object.getPrototypeOf(memory.prepare('SELECT 1')) as Record<string, Method>;
  memory.close();
  for (const name of ['get', 'all', 'run', 'iterate']) {
    const original = statement[name]!;
    statement[name] = function (this: unknown, ...args: unknown[]) {
      count((this as { source: string }).source);
      return original.apply(this, args);
    };
  }
  const client = (require('pg') as { Client: { prototype: Record<string, Method> } }).Client.prototype;
  const query = client.query!;
  client.query = function (this: unknown, ...args: unknown[]) {
    const [config] = args;
    count(typeof config === 'string' ? config : ((config as { text?: string } | null)?.text ?? ''));
    return query.apply(this, args);
  };
}

countDriverStatements();

interface BenchRequest {
  headers: Record<string, string | string[] | undefined>;
  user?: unknown;
}

/** `RssAnon` of /proc/self/status in bytes: RSS without the pages of mapped files; `null` where there is none. */
function anonymousRss(): number | null {
  try {
    const kilobytes = /^RssAnon:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kilobytes === undefined ? null : Number(kilobytes) * 1024;
  } catch {
    return null;
  }
}

/** The bearer token of the request, or a 401. */
function bearerOf(context: ExecutionContext): { request: BenchRequest; raw: string } {
  const request = context.switchToHttp().getRequest<BenchRequest>();
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) throw new UnauthorizedException();
  return { request, raw: header.slice('Bearer '.length) };
}

/** Milliseconds of garbage-collection pauses so far. */
let gcPauses = 0;
/** The longest of them, milliseconds. */
let gcLongest = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gcPauses += entry.duration;
    gcLongest = Math.max(gcLongest, entry.duration);
  }
}).observe({ type: 'gc' });

/** The guard of the NestJS authentication guide, verifying an HS256 JWT. */
@Injectable()
class JwtAuthGuard implements CanActivate {
  constructor(private readonly jwt: JwtService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; jwt?: unknown }>();
    const [type, token] = request.headers.authorization?.split(' ') ?? [];
    if (type !== 'Bearer' || !token) throw new UnauthorizedException();
    try {
      request.jwt = await this.jwt.verifyAsync(token, { secret: BENCH_JWT_SECRET });
    } catch {
      throw new UnauthorizedException();
    }
    return true;
  }
}

/**
 * The least a token guard can do, as the issue measured it: SHA-256 of the bearer token and a
 * lookup in a `Map`, then `request.user`. The ceiling for a cache hit (it checks no expiry,
 * revocation or scope), for comparison; not part of the product. A token it has not seen is
 * verified once by the product, outside the measured runs.
 */
@Injectable()
class ReferenceGuard implements CanActivate {
  private readonly users = new Map<string, User>();

  constructor(private readonly tokens: TokensService) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const { request, raw } = bearerOf(context);
    const key = hashToken(raw);
    const user = this.users.get(key);
    if (user) {
      request.user = user;
      return true;
    }
    return this.tokens.verify<User>(raw).then(
      (verified) => {
        this.users.set(key, verified.user);
        request.user = verified.user;
        return true;
      },
      () => {
        throw new UnauthorizedException();
      },
    );
  }
}

type PublicUser = ReturnType<typeof publicUser>;

/**
 * What the reference lookup reads: the token's row and its user's, every column, as a verification
 * needs them (expiry, revocation, scopes, the user for the route), though it checks none of them.
 */
const REFERENCE_COLUMNS = [
  't.id AS token_id, t.user_id, t.kind, t.family_id, t.name, t.token_hash, t.hint, t.scopes, t.created_at, t.expires_at, t.lifetime',
  't.idle_timeout, t.idle_expires_at, t.expiring_notified_at, t.last_used_at, t.revoked_at, t.fingerprint, t.revoked_reason, u.*',
].join(', ');

/**
 * The least a cache miss can cost: SHA-256 of the bearer token and one prepared statement on the
 * raw driver, reading the token's row joined to its user's, and a 401 when there is none. The floor for
 * the module's miss path (which also checks expiry, revocation, the user and scopes, and goes
 * through TypeORM), for comparison; not part of the product.
 */
@Injectable()
class ReferenceDbGuard implements CanActivate {
  private lookup: ((hash: string) => PublicUser | undefined | Promise<PublicUser | undefined>) | null = null;

  constructor(private readonly dataSource: DataSource) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const { request, raw } = bearerOf(context);
    const found = (this.lookup ??= this.prepare())(hashToken(raw));
    const admit = (user: PublicUser | undefined) => {
      if (!user) throw new UnauthorizedException();
      request.user = user;
      return true;
    };
    return found instanceof Promise ? found.then(admit) : admit(found);
  }

  /** The statement, prepared once; with `pg`, a named statement, which each connection prepares once. */
  private prepare(): (hash: string) => PublicUser | undefined | Promise<PublicUser | undefined> {
    const { driver } = this.dataSource;
    const type = driver.options.type;
    if (type === 'better-sqlite3') {
      const sql = `SELECT ${REFERENCE_COLUMNS} FROM access_tokens t JOIN users u ON u.id = CAST(t.user_id AS INTEGER) WHERE t.token_hash = ?`;
      const statement = (
        driver as unknown as { databaseConnection: { prepare(sql: string): { get(...values: unknown[]): unknown } } }
      ).databaseConnection.prepare(sql);
      return (hash) => statement.get(hash) as PublicUser | undefined;
    }
    if (type === 'postgres') {
      const text = `SELECT ${REFERENCE_COLUMNS} FROM access_tokens t JOIN users u ON u.id = CAST(t.user_id AS integer) WHERE t.token_hash = $1`;
      const pool = (driver as unknown as { master: { query(config: object): Promise<{ rows: PublicUser[] }> } }).master;
      return (hash) => pool.query({ name: 'ref_find', text, values: [hash] }).then(({ rows }) => rows[0]);
    }
    throw new UnauthorizedException(`no reference lookup on ${type}`);
  }
}

@Public()
@Controller()
class BenchController {
  /** A route with no guard and no work: the floor of a request on this server. */
  @Get('__bench/ping')
  ping(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @UseGuards(JwtAuthGuard)
  @Get('jwt/me')
  me(): { ok: true } {
    return { ok: true };
  }

  /** What `GET /users/me` answers, behind the reference guard. */
  @UseGuards(ReferenceGuard)
  @Get('reference/me')
  referenceMe(@Req() request: { user: User }): PublicUser {
    return publicUser(request.user);
  }

  /** What `GET /users/me` answers, behind the reference lookup on the raw driver. */
  @UseGuards(ReferenceDbGuard)
  @Get('reference/db/me')
  referenceDbMe(@Req() request: { user: User }): PublicUser {
    return publicUser(request.user);
  }

  /** What `GET /users/me` answers, behind the module's Passport strategy rather than its guard. */
  @UseGuards(AuthGuard(ACCESS_TOKEN_STRATEGY))
  @Get('passport/me')
  passportMe(@Req() request: { user: User }): PublicUser {
    return publicUser(request.user);
  }

  constructor(private readonly tokens: TokensService) {}

  /**
   * The counters; memory after a full garbage collection with `?gc=full` (the bench starts node
   * with --expose-gc), or after V8's last-resort one with `?gc=release`, which also gives back to
   * the system the memory the heap no longer uses, so that RSS shows what the process holds;
   * with `?flush=1`, once the uses of tokens waiting to be written are written, so that a run's
   * writes are counted in that run and not in the next.
   */
  @Get('__bench/stats')
  async stats(@Query('gc') collect?: string, @Query('flush') flush?: string): Promise<BenchStats> {
    if (flush) await this.tokens.flushUses();
    const gc = (globalThis as { gc?: (options?: object) => void }).gc;
    if (collect) gc?.();
    // Asked alone, the last-resort collection leaves garbage in place (Node 20, measured): after
    // the full one, it gives the pages that collection emptied back to the system.
    if (collect === 'release') gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const { user, system } = process.cpuUsage();
    const { rss, heapUsed, heapTotal, external } = process.memoryUsage();
    return {
      ...counts,
      cpu: user + system,
      user,
      system,
      gc: gcPauses,
      gcLongest,
      rss,
      heapUsed,
      heapTotal,
      external,
      rssAnon: anonymousRss(),
    };
  }

  /**
   * Verifies each token of the body once, in this process, as a request bearing it would (the
   * cache keeps it, its first use is recorded): the traffic stage's way to bring up instances
   * that have seen every live token, without an HTTP request for each. 409 if one is refused.
   */
  @Post('__bench/verify')
  async verifyEach(@Body() body: { tokens?: unknown }): Promise<{ verified: number }> {
    const tokens = Array.isArray(body.tokens)
      ? body.tokens.filter((token): token is string => typeof token === 'string')
      : [];
    const outcomes = await Promise.allSettled(tokens.map((raw) => this.tokens.verify(raw)));
    const refused = outcomes.filter((outcome) => outcome.status === 'rejected').length;
    if (refused > 0) throw new ConflictException(`${refused} of ${tokens.length} tokens refused`);
    return { verified: tokens.length };
  }

  /**
   * Revokes every token of a user, which drops their verifications from the cache: the memory
   * stage's way to empty a cache that its warm-up filled.
   */
  @Post('__bench/revoke-all')
  async revokeAll(@Query('user') user: string): Promise<{ revoked: number }> {
    return { revoked: await this.tokens.revokeAll(user) };
  }
}

async function bootstrap(): Promise<void> {
  const config = demoConfigFromEnv();
  // Bench-only: BENCH_CACHE_MAX, a cache of another size (the smoke run's memory stage, the
  // traffic stage's population); BENCH_CACHE_TTL, seconds, so that no cached token expires in the
  // middle of a measured run; BENCH_CACHE_BUS_TTL, seconds, the trust while the bus is up.
  const { BENCH_CACHE_MAX: max, BENCH_CACHE_TTL: ttl, BENCH_CACHE_BUS_TTL: busTtl } = process.env;
  const cache =
    config.cache === false
      ? false
      : {
          ...config.cache,
          ...(max ? { max: positiveFromEnv('BENCH_CACHE_MAX', 10_000) } : {}),
          ...(ttl ? { ttlSeconds: positiveFromEnv('BENCH_CACHE_TTL', 10) } : {}),
          ...(busTtl ? { busTtlSeconds: positiveFromEnv('BENCH_CACHE_BUS_TTL', 300) } : {}),
        };

  @Module({
    imports: [
      // Without the demo's OpenTelemetry SDK: the module's own cost, as an app without one pays it.
      AppModule.forRoot({ ...config, cache, metrics: false }),
      JwtModule.register({ secret: BENCH_JWT_SECRET, signOptions: { algorithm: 'HS256', expiresIn: '1h' } }),
    ],
    controllers: [BenchController],
    providers: [JwtAuthGuard, ReferenceGuard, ReferenceDbGuard],
  })
  class BenchServerModule {}

  const app = await NestFactory.create(BenchServerModule, createHttpAdapter(config.httpAdapter ?? 'express'), {
    ...DEMO_APP_OPTIONS,
    logger: ['error', 'warn'],
  });
  configureDemoApp(app);
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 0));
  // Not through Logger: the log levels above leave out its plain messages.
  process.stdout.write(`Bench server listening on ${await app.getUrl()}\n`);
}

void bootstrap();
