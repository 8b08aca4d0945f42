import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { CacheBusUnavailableError, InvalidOptionsError } from '../core/access-tokens.errors.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';

/**
 * Loads an optional peer the first time a bus needs it, so that an app without a bus never loads,
 * or installs, `ioredis` or `pg`. An app that asks for a bus without its driver stops at start-up.
 */
async function loadDriver<T>(name: 'ioredis' | 'pg', load: () => Promise<T>, bus: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // Only the driver itself missing: a driver that is there but broken keeps its own error.
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(error).includes(`'${name}'`)) {
      throw new InvalidOptionsError(`cache.bus { type: "${bus}" } needs the "${name}" package: npm install ${name}`, { cause: error });
    }
    throw error;
  }
}

/** PostgreSQL caps a NOTIFY payload at 8,000 bytes; user ids are sent in chunks well under it. */
const USER_IDS_PER_MESSAGE = 100;

interface Message {
  /** The instance that sent it, which has already invalidated. */
  origin: string;
  userIds: string[];
}

/**
 * Carries cache invalidations between instances: each instance publishes the users whose
 * verifications it dropped, and drops them when another instance does. Best effort by design: a
 * lost message leaves a stale verification for at most the cache TTL.
 */
@Injectable()
export class CacheBus implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CacheBus.name);
  private readonly origin = randomUUID();
  private readonly handlers: ((userIds: string[]) => void)[] = [];
  private publisher: ((payload: string) => Promise<unknown>) | null = null;
  private closers: (() => Promise<unknown>)[] = [];

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
    private readonly dataSource: DataSource,
  ) {}

  /** Calls `handler` with the user ids another instance invalidated. */
  onInvalidation(handler: (userIds: string[]) => void): void {
    this.handlers.push(handler);
  }

  async onModuleInit(): Promise<void> {
    const bus = this.options.cache?.bus;
    if (!bus) return;
    try {
      if (bus.type === 'redis') await this.startRedis(bus.url, bus.channel!);
      else await this.startPostgres(bus.channel!);
    } catch (error) {
      await this.onModuleDestroy();
      if (error instanceof InvalidOptionsError) throw error;
      throw new CacheBusUnavailableError(`The ${bus.type} cache bus cannot be reached: check cache.bus, or start the service`, { cause: error });
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.publisher = null;
    await Promise.allSettled(this.closers.map((close) => close()));
    this.closers = [];
  }

  /** Tells the other instances to drop these users' verifications. */
  publish(userIds: readonly string[]): void {
    const publish = this.publisher;
    if (!publish || userIds.length === 0) return;
    for (let i = 0; i < userIds.length; i += USER_IDS_PER_MESSAGE) {
      const message: Message = { origin: this.origin, userIds: userIds.slice(i, i + USER_IDS_PER_MESSAGE) };
      publish(JSON.stringify(message)).catch((error: unknown) =>
        this.logger.warn(`Could not publish a cache invalidation (other instances catch up within the cache TTL): ${String(error)}`),
      );
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
    for (const handler of this.handlers) handler(message.userIds.map(String));
  }

  private async startRedis(url: string, channel: string): Promise<void> {
    // Fail start-up rather than wait forever for a Redis that is not there; reconnect later on.
    const options: RedisOptions = { maxRetriesPerRequest: 1, connectTimeout: 5000 };
    const { Redis: RedisClient } = await loadDriver('ioredis', () => import('ioredis'), 'redis');
    const publisher: Redis = new RedisClient(url, options);
    const subscriber: Redis = new RedisClient(url, options);
    this.closers.push(async () => publisher.disconnect(), async () => subscriber.disconnect());
    subscriber.on('error', (error: Error) => this.logger.warn(`Cache invalidation subscriber: ${error.message}`));
    publisher.on('error', (error: Error) => this.logger.warn(`Cache invalidation publisher: ${error.message}`));
    subscriber.on('message', (_channel: string, payload: string) => this.receive(payload));
    await subscriber.subscribe(channel);
    this.publisher = (payload) => publisher.publish(channel, payload);
  }

  private async startPostgres(channel: string): Promise<void> {
    if (this.dataSource.options.type !== 'postgres') {
      throw new InvalidOptionsError('cache.bus { type: "postgres" } needs a PostgreSQL DataSource: use type "redis" instead');
    }
    const { url, host, port, username, password, database, ssl } = this.dataSource.options;
    // TypeORM's and pg's TLS option types differ only in callbacks neither sets here.
    const tls = ssl as pg.ClientConfig['ssl'];
    const { default: driver } = await loadDriver('pg', () => import('pg'), 'postgres');
    const listener = new driver.Client(
      url
        ? { connectionString: url, ssl: tls }
        : { host, port, user: username, password: typeof password === 'string' ? password : undefined, database, ssl: tls },
    );
    listener.on('notification', (notification) => {
      if (notification.payload !== undefined) this.receive(notification.payload);
    });
    listener.on('error', (error) => this.logger.warn(`Cache invalidation listener failed: ${String(error)}`));
    await listener.connect();
    this.closers.push(() => listener.end());
    await listener.query(`LISTEN ${channel}`);
    this.publisher = (payload) => this.dataSource.query('SELECT pg_notify($1, $2)', [channel, payload]);
  }
}
