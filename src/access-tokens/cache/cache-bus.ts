import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit, type Provider } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { CacheBusUnavailableError, InvalidOptionsError } from '../core/access-tokens.errors.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';

/** The options of a PostgreSQL DataSource. */
type PostgresOptions = Extract<DataSourceOptions, { type: 'postgres' }>;

/** The driver of the configured bus, as loaded by {@link CACHE_BUS_DRIVER}'s factory. */
export type CacheBusDriver = { type: 'redis'; Redis: typeof Redis } | { type: 'postgres'; pg: typeof pg } | null;

/** The injection token of the bus's driver module. */
export const CACHE_BUS_DRIVER = Symbol('access-tokens:cache-bus-driver');

/**
 * Loads the bus's driver while Nest creates the app, from a provider's factory rather than in
 * `onModuleInit`: a missing package then stops the app in Nest's own start-up error log
 * (`[ExceptionHandler]`, exit code 1), naming the package to install, instead of an unhandled
 * rejection out of `app.listen()`. An app without a bus never loads, or installs, `ioredis` or `pg`.
 */
export const cacheBusDriverProvider: Provider = {
  provide: CACHE_BUS_DRIVER,
  inject: [RESOLVED_OPTIONS, DataSource],
  useFactory: async (options: ResolvedAccessTokensOptions, dataSource: DataSource): Promise<CacheBusDriver> => {
    const bus = options.cache?.bus;
    if (!bus) return null;
    if (bus.type === 'redis')
      return {
        type: 'redis',
        Redis: (await loadDriver('ioredis', () => import('ioredis'), 'cache.bus { type: "redis" }')).Redis,
      };
    if (dataSource.options.type !== 'postgres') {
      throw new InvalidOptionsError(
        'cache.bus { type: "postgres" } needs a PostgreSQL DataSource: use type "redis" instead',
      );
    }
    return {
      type: 'postgres',
      pg: (await loadDriver('pg', () => import('pg'), 'cache.bus { type: "postgres" }')).default,
    };
  },
};

/** Loads an optional peer, naming it, and the option that needs it (`option`), when it is not installed. */
export async function loadDriver<T>(name: 'ioredis' | 'pg', load: () => Promise<T>, option: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // Only the driver itself missing: a driver that is there but broken keeps its own error.
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(error).includes(`'${name}'`)) {
      throw new InvalidOptionsError(`${option} needs the "${name}" package: npm install ${name}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** Ids or hashes per message: 100 token hashes make 6.6 kB, under PostgreSQL's 8,000-byte NOTIFY payload. */
const IDS_PER_MESSAGE = 100;

/**
 * What an instance dropped from its cache, for the others to drop: every verification of these
 * users, and the verifications of these tokens (by hash, as the cache keys them).
 */
export interface Invalidation {
  readonly userIds: readonly string[];
  readonly tokenHashes: readonly string[];
}

interface Message {
  /** The instance that sent it, which has already invalidated. */
  origin: string;
  userIds: string[];
  tokenHashes?: string[];
}

/** Whether this instance hears the other instances' invalidations: no bus, connected, or not. */
export type CacheBusState = 'none' | 'up' | 'down';

/** First and longest wait before the PostgreSQL listener reconnects, in milliseconds. */
const RECONNECT_FIRST = 250;
const RECONNECT_MAX = 30_000;

/**
 * Carries cache invalidations between instances: each instance publishes the users, or the single
 * tokens, whose verifications it dropped, and drops them when another instance does. A lost
 * message leaves a stale verification for at most the cache TTL. When the connection drops, and again when it
 * comes back, messages may have been missed: the bus tells its `onReset` handlers, which drop
 * everything cached, and it reconnects by itself, with backoff.
 */
@Injectable()
export class CacheBus implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CacheBus.name);
  private readonly origin = randomUUID();
  private readonly handlers: ((invalidation: Invalidation) => void)[] = [];
  private readonly resetHandlers: (() => void)[] = [];
  private readonly stateHandlers: ((state: 'up' | 'down') => void)[] = [];
  /** Invalidations sent and not yet acknowledged. */
  private readonly publishing = new Set<Promise<unknown>>();
  private publisher: ((payload: string) => Promise<unknown>) | null = null;
  private closers: (() => Promise<unknown>)[] = [];
  private current: CacheBusState = 'none';
  private stopped = false;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
    private readonly dataSource: DataSource,
    @Inject(CACHE_BUS_DRIVER) private readonly driver: CacheBusDriver,
  ) {}

  /** Calls `handler` with what another instance invalidated. */
  onInvalidation(handler: (invalidation: Invalidation) => void): void {
    this.handlers.push(handler);
  }

  /** Calls `handler` whenever invalidations may have been missed: the bus went down, or came back. */
  onReset(handler: () => void): void {
    this.resetHandlers.push(handler);
  }

  /** Calls `handler` with each new state: `up` when connected (the first time too), `down` when lost. */
  onStateChange(handler: (state: 'up' | 'down') => void): void {
    this.stateHandlers.push(handler);
  }

  /** Whether invalidations from other instances arrive now. */
  get state(): CacheBusState {
    return this.current;
  }

  /**
   * Whether losing the bus drops what is cached: yes for Redis, whose loss leaves the database to
   * verify against and other instances free to revoke unheard; no for PostgreSQL, whose loss is
   * (nearly always) the database's, when nothing can be revoked and nothing verified anew: what is
   * cached is then trusted for `cache.ttlSeconds` at most. Either way, everything is dropped once
   * the bus is back.
   */
  private get flushesOnLoss(): boolean {
    return this.options.cache?.bus?.type !== 'postgres';
  }

  private setState(next: 'up' | 'down', why?: string): void {
    if (next === this.current || this.stopped) return;
    const flushOnLoss = this.flushesOnLoss;
    const first = this.current === 'none';
    this.current = next;
    if (next === 'down') {
      const cached = flushOnLoss
        ? 'cached verifications are dropped'
        : 'cached verifications are trusted for cache.ttlSeconds at most, and dropped once it is back';
      this.logger.warn(`Cache invalidation bus lost (${why ?? 'closed'}): ${cached}; it reconnects`);
    } else if (!first)
      this.logger.log('Cache invalidation bus reconnected: cached verifications are dropped once more');
    for (const handler of this.stateHandlers) handler(next);
    if (!first && (next === 'up' || flushOnLoss)) for (const handler of this.resetHandlers) handler();
  }

  async onModuleInit(): Promise<void> {
    const bus = this.options.cache?.bus;
    const driver = this.driver;
    if (!bus || !driver) return;
    try {
      if (driver.type === 'redis' && bus.type === 'redis') await this.startRedis(driver.Redis, bus.url, bus.channel);
      else if (driver.type === 'postgres') await this.startPostgres(driver.pg, bus.channel);
    } catch (error) {
      await this.onModuleDestroy();
      throw new CacheBusUnavailableError(
        `The ${bus.type} cache bus cannot be reached: check cache.bus, or start the service`,
        { cause: error },
      );
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.publisher = null;
    // A short-lived process (a CLI revoking a token) closes right after its last change: its
    // invalidations must leave before the connections close.
    await Promise.allSettled([...this.publishing]);
    await Promise.allSettled(this.closers.map((close) => close()));
    this.closers = [];
  }

  /** Tells the other instances to drop these users' verifications, and these tokens'. */
  publish({ userIds, tokenHashes }: Invalidation): void {
    const publish = this.publisher;
    if (!publish) return;
    const messages: Message[] = [];
    for (let i = 0; i < userIds.length; i += IDS_PER_MESSAGE)
      messages.push({ origin: this.origin, userIds: userIds.slice(i, i + IDS_PER_MESSAGE) });
    for (let i = 0; i < tokenHashes.length; i += IDS_PER_MESSAGE)
      messages.push({ origin: this.origin, userIds: [], tokenHashes: tokenHashes.slice(i, i + IDS_PER_MESSAGE) });
    for (const message of messages) {
      const sent: Promise<unknown> = publish(JSON.stringify(message))
        .catch((error: unknown) =>
          this.logger.warn(
            `Could not publish a cache invalidation (other instances catch up within the cache TTL): ${String(error)}`,
          ),
        )
        .finally(() => this.publishing.delete(sent));
      this.publishing.add(sent);
    }
  }

  private receive(payload: string): void {
    let message: Message;
    try {
      message = JSON.parse(payload) as Message;
    } catch {
      return;
    }
    if (message.origin === this.origin || !Array.isArray(message.userIds)) return;
    const invalidation: Invalidation = {
      userIds: message.userIds.map(String),
      tokenHashes: Array.isArray(message.tokenHashes) ? message.tokenHashes.map(String) : [],
    };
    for (const handler of this.handlers) handler(invalidation);
  }

  private async startRedis(RedisClient: typeof Redis, url: string, channel: string): Promise<void> {
    // Fail start-up rather than wait forever for a Redis that is not there; reconnect later on.
    const options: RedisOptions = { maxRetriesPerRequest: 1, connectTimeout: 5000 };
    const publisher: Redis = new RedisClient(url, options);
    const subscriber: Redis = new RedisClient(url, options);
    this.closers.push(
      async () => publisher.disconnect(),
      async () => subscriber.disconnect(),
    );
    subscriber.on('error', (error: Error) => this.logger.warn(`Cache invalidation subscriber: ${error.message}`));
    publisher.on('error', (error: Error) => this.logger.warn(`Cache invalidation publisher: ${error.message}`));
    subscriber.on('message', (_channel: string, payload: string) => this.receive(payload));
    // ioredis reconnects with backoff and subscribes again by itself; the bus only follows it.
    subscriber.on('close', () => this.setState('down', 'Redis connection closed'));
    subscriber.on('ready', () => this.setState('up'));
    await subscriber.subscribe(channel);
    this.publisher = (payload) => publisher.publish(channel, payload);
    this.setState('up');
  }

  private async startPostgres(driver: typeof pg, channel: string): Promise<void> {
    await this.listen(driver, channel, this.dataSource.options as PostgresOptions);
    this.publisher = (payload) => this.dataSource.query('SELECT pg_notify($1, $2)', [channel, payload]);
    this.setState('up');
  }

  /**
   * Opens the LISTEN connection. pg's client does not reconnect, so when it fails or ends the bus
   * opens another, waiting longer after each failure (up to 30 s).
   */
  private async listen(driver: typeof pg, channel: string, options: PostgresOptions): Promise<void> {
    const { url, host, port, username, password, database, ssl } = options;
    // TypeORM's and pg's TLS option types differ only in callbacks neither sets here.
    const tls = ssl as pg.ClientConfig['ssl'];
    const listener = new driver.Client(
      url
        ? { connectionString: url, ssl: tls }
        : {
            host,
            port,
            user: username,
            password: typeof password === 'string' ? password : undefined,
            database,
            ssl: tls,
          },
    );
    listener.on('notification', (notification) => {
      if (notification.payload !== undefined) this.receive(notification.payload);
    });
    // Set once LISTEN runs: a failure before that is the caller's to handle, not a loss to recover.
    let live = false;
    let lost = false;
    const close = () => listener.end();
    const onLost = (why: string) => {
      if (!live || lost || this.stopped) return;
      lost = true;
      this.closers = this.closers.filter((other) => other !== close);
      this.setState('down', why);
      void listener.end().catch(() => undefined);
      this.reconnect(driver, channel, options, 0);
    };
    listener.on('error', (error) => onLost(String(error)));
    listener.on('end', () => onLost('connection ended'));
    this.closers.push(close);
    try {
      await listener.connect();
      await listener.query(`LISTEN ${channel}`);
      live = true;
    } catch (error) {
      lost = true;
      this.closers = this.closers.filter((other) => other !== close);
      await listener.end().catch(() => undefined);
      throw error;
    }
  }

  private reconnect(driver: typeof pg, channel: string, options: PostgresOptions, failures: number): void {
    const delay = Math.min(RECONNECT_FIRST * 2 ** failures, RECONNECT_MAX);
    const cancel = async () => clearTimeout(timer);
    const timer = setTimeout(() => {
      this.closers = this.closers.filter((other) => other !== cancel);
      if (this.stopped) return;
      this.listen(driver, channel, options).then(
        () => this.setState('up'),
        () => this.reconnect(driver, channel, options, failures + 1),
      );
    }, delay);
    timer.unref();
    this.closers.push(cancel);
  }
}
