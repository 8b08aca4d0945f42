import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { type AccessTokensModuleOptions, errors, TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';
import { QueryCounter } from './fixtures/query-counter.js';
import { ManualClock } from 'nestjs-access-tokens/testing';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** A long TTL, so that only the bus can explain a fresh answer. */
/** What `cache.bus` takes. */
type CacheBusOptions = NonNullable<Exclude<AccessTokensModuleOptions['cache'], false>>['bus'] & object;
const withBus = (bus?: CacheBusOptions) => ({ ...FIXTURE_OPTIONS, cache: { ttlSeconds: 3600, bus } });

/** Asks until the answer is `status`, for at most `ms`; returns how long it took. */
async function until(ask: () => Promise<number>, status: number, ms = 3000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if ((await ask()) === status) return Date.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`still not ${status} after ${ms} ms`);
}

const buses: [string, () => CacheBusOptions][] = [
  ['Redis pub/sub', () => ({ type: 'redis', url: REDIS_URL, channel: `nat_test_${randomBytes(4).toString('hex')}` })],
];
if (testDatabaseKind() === 'postgres') {
  buses.push([
    'PostgreSQL LISTEN/NOTIFY',
    () => ({ type: 'postgres', channel: `nat_test_${randomBytes(4).toString('hex')}` }),
  ]);
}

const BUS_CASES = buses.flatMap(([name, bus]) => HTTP_ADAPTERS.map((server) => ({ name, bus, ...server })));

describe.each(BUS_CASES)(
  `cache invalidation across instances through $name, on $server, on ${testDatabaseKind()}`,
  ({ bus, adapter }) => {
    let database: TestDatabase;
    let a: INestApplication;
    let b: INestApplication;
    const queriesOnB = new QueryCounter();
    let seq = 0;

    beforeAll(async () => {
      database = await createTestDatabase();
      const options = bus();
      a = await startFixtureApp(database, withBus(options), { adapter });
      b = await startFixtureApp(database, withBus(options), { adapter, queries: queriesOnB });
    });

    afterAll(async () => {
      await a?.close();
      await b?.close();
      await database?.drop();
    });

    async function cachedOnB(): Promise<{ member: string; token: string; askB: () => Promise<number> }> {
      seq += 1;
      const member = `m-${seq}`;
      await a
        .get(DataSource)
        .getRepository(Member)
        .save({ memberId: member, login: `m${seq}`, secret: 'h', disabled: false, bio: null, grants: ['*'] });
      const { token } = await a.get(TokensService).issue(member, { name: 'x' });
      const askB = async () =>
        (await request(b.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`)).status;
      expect(await askB()).toBe(200);
      return { member, token, askB };
    }

    it('carries a revocation on one instance to the cache of the other', async () => {
      const { member, askB } = await cachedOnB();
      await a.get(TokensService).revokeAll(member);
      expect(await until(askB, 401)).toBeLessThan(3000);
    });

    it("drops a revoked token from the other instance's cache, and keeps the user's other tokens cached there", async () => {
      const { member, token, askB } = await cachedOnB();
      const { token: sibling } = await a.get(TokensService).issue(member, { name: 'sibling' });
      const askSibling = async () =>
        (await request(b.getHttpServer()).get('/reports').set('Authorization', `Bearer ${sibling}`)).status;
      expect(await askSibling()).toBe(200);
      expect(await a.get(TokensService).revokeBySecret(token)).toBe(true);
      await until(askB, 401);
      expect(await queriesOnB.during(async () => expect(await askSibling()).toBe(200))).toEqual([]);
    });

    it('carries a user change seen on one instance to the other', async () => {
      const { member, askB } = await cachedOnB();
      await a
        .get(DataSource)
        .getRepository(Member)
        .save({ memberId: member, grants: ['billing:read'] });
      await until(askB, 403);
    });
  },
);

describe.each(HTTP_ADAPTERS)(`without a bus, on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  it('leaves the other instance on its cache until the TTL: the bus is what makes it immediate', async () => {
    const database = await createTestDatabase();
    const a = await startFixtureApp(database, withBus(), { adapter });
    const b = await startFixtureApp(database, withBus(), { adapter });
    try {
      await a
        .get(DataSource)
        .getRepository(Member)
        .save({ memberId: 'm-x', login: 'x', secret: 'h', disabled: false, bio: null, grants: ['*'] });
      const { token } = await a.get(TokensService).issue('m-x', { name: 'x' });
      const askB = () => request(b.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`);
      await askB().expect(200);
      await a.get(TokensService).revokeAll('m-x');
      await askB().expect(200);
      await request(a.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(401);
    } finally {
      await a.close();
      await b.close();
      await database.drop();
    }
  });
});

describe('a bus that cannot be reached', () => {
  it('stops the app at start-up with a clear error', async () => {
    const database = await createTestDatabase('sqlite');
    try {
      await expect(
        startFixtureApp(database, withBus({ type: 'redis', url: 'redis://127.0.0.1:1' })),
      ).rejects.toBeInstanceOf(errors.CacheBusUnavailableError);
    } finally {
      await database.drop();
    }
  });
});

/** Asks until `ask()` holds, for at most `ms`. */
async function eventually(ask: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!ask()) {
    if (Date.now() - start > ms) throw new Error(`not so after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const lostBuses: [string, (proxyPort: number) => { bus: CacheBusOptions; throughProxy: 'bus' | 'database' }][] = [
  [
    'Redis pub/sub',
    (port) => ({
      bus: { type: 'redis', url: `redis://127.0.0.1:${port}`, channel: 'nat_test_lost' },
      throughProxy: 'bus',
    }),
  ],
];
if (testDatabaseKind() === 'postgres') {
  lostBuses.push([
    'PostgreSQL LISTEN/NOTIFY',
    () => ({ bus: { type: 'postgres', channel: 'nat_test_lost' }, throughProxy: 'database' }),
  ]);
}

const LOST_BUS_CASES = lostBuses.flatMap(([name, setup]) =>
  HTTP_ADAPTERS.map((server) => ({ name, setup, ...server })),
);

describe.each(LOST_BUS_CASES)(
  `a $name bus that is lost and comes back, on $server, on ${testDatabaseKind()}`,
  ({ name, setup, adapter }) => {
    let database: TestDatabase;
    let proxy: TcpProxy;
    let a: INestApplication;
    let b: INestApplication;

    beforeAll(async () => {
      database = await createTestDatabase();
      const { port } = database.options as { port?: number };
      const viaRedis = name.startsWith('Redis');
      proxy = await new TcpProxy({ host: '127.0.0.1', port: viaRedis ? 6379 : port! }).start();
      const { bus, throughProxy } = setup(proxy.port);
      const channel = `nat_test_${randomBytes(4).toString('hex')}`;
      const direct: CacheBusOptions = viaRedis
        ? { type: 'redis', url: REDIS_URL, channel }
        : { type: 'postgres', channel };
      a = await startFixtureApp(database, withBus(direct), { adapter });
      // B hears the bus through the proxy (for PostgreSQL, its whole DataSource does).
      const bOptions =
        throughProxy === 'database'
          ? { options: { ...database.options, port: proxy.port } as typeof database.options }
          : database;
      b = await startFixtureApp(bOptions, withBus({ ...bus, channel }), { adapter });
    });

    afterAll(async () => {
      await a?.close();
      await b?.close();
      await proxy?.stop();
      await database?.drop();
    });

    it('while lost, drops what it cached (Redis) or keeps it for ttl (PostgreSQL, lost with the database); hears invalidations again once back', async () => {
      const members = a.get(DataSource).getRepository(Member);
      await members.save({ memberId: 'm-lost', login: 'lost', secret: 'h', disabled: false, bio: null, grants: ['*'] });
      const { token } = await a.get(TokensService).issue('m-lost', { name: 'x' });
      const askB = async () =>
        (await request(b.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`)).status;
      expect(await askB()).toBe(200);
      expect(b.get(TokensService).health()).toEqual({ cacheBus: 'up' });

      await proxy.cut();
      await eventually(() => b.get(TokensService).health().cacheBus === 'down');
      await a.get(TokensService).revokeAll('m-lost');
      if (name.startsWith('Redis')) {
        // Its cache was dropped: B never answers the revoked token from it.
        expect(await askB()).toBe(401);
      } else {
        // B cannot reach its database: it answers what it cached, for cache.ttlSeconds at most, as it would with no bus.
        expect(await askB()).toBe(200);
      }

      await proxy.restore();
      await eventually(() => b.get(TokensService).health().cacheBus === 'up');
      expect(await until(askB, 401)).toBeLessThan(3000);
      // And the bus carries invalidations again.
      const second = await a.get(TokensService).issue('m-lost', { name: 'y' });
      const askSecond = async () =>
        (await request(b.getHttpServer()).get('/reports').set('Authorization', `Bearer ${second.token}`)).status;
      expect(await until(askSecond, 200)).toBeLessThan(3000);
      await a.get(TokensService).revokeAll('m-lost');
      expect(await until(askSecond, 401)).toBeLessThan(3000);
    });
  },
);

describe.each(HTTP_ADAPTERS)(
  `the cache's trust while the bus is up and while it is down, on $server, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    const clock = new ManualClock();
    const queries = new QueryCounter();
    let database: TestDatabase;
    let proxy: TcpProxy;
    let app: INestApplication;

    beforeAll(async () => {
      database = await createTestDatabase();
      proxy = await new TcpProxy({ host: '127.0.0.1', port: 6379 }).start();
      const bus: CacheBusOptions = {
        type: 'redis',
        url: `redis://127.0.0.1:${proxy.port}`,
        channel: `nat_test_${randomBytes(4).toString('hex')}`,
      };
      app = await startFixtureApp(
        database,
        { ...FIXTURE_OPTIONS, clock, cache: { ttlSeconds: 10, busTtlSeconds: 300, bus } },
        { queries, adapter },
      );
    });

    afterAll(async () => {
      await app?.close();
      await proxy?.stop();
      await database?.drop();
    });

    it('keeps a verification for busTtlSeconds while every change is pushed, for ttlSeconds once the bus is lost, and flushes at each change', async () => {
      await app
        .get(DataSource)
        .getRepository(Member)
        .save({ memberId: 'm-ttl', login: 'ttl', secret: 'h', disabled: false, bio: null, grants: ['*'] });
      const { token } = await app.get(TokensService).issue('m-ttl', { name: 'x' });
      expect(await reads(token)).toBe(1);
      clock.advance(200);
      expect(await reads(token)).toBe(0);

      await proxy.cut();
      await eventually(() => app.get(TokensService).health().cacheBus === 'down');
      expect(await reads(token)).toBe(1);
      clock.advance(11);
      expect(await reads(token)).toBe(1);

      await proxy.restore();
      await eventually(() => app.get(TokensService).health().cacheBus === 'up');
      expect(await reads(token)).toBe(1);
      clock.advance(200);
      expect(await reads(token)).toBe(0);
    });

    it('reads cached verifications again in the background while the bus is up, many per query, and drops those a write no subscriber saw made unusable', async () => {
      const members = app.get(DataSource).getRepository(Member);
      await members.save({ memberId: 'm-busy', login: 'busy', secret: 'h', disabled: false, bio: null, grants: ['*'] });
      await members.save({
        memberId: 'm-renamed',
        login: 'renamed',
        secret: 'h',
        disabled: false,
        bio: null,
        grants: ['*'],
      });
      const busy = await Promise.all(
        Array.from({ length: 12 }, (_, i) => app.get(TokensService).issue('m-busy', { name: `t${i}` })),
      );
      const renamed = await app.get(TokensService).issue('m-renamed', { name: 'x' });
      for (const { token } of [...busy, renamed]) expect(await reads(token)).toBe(1);

      // A write no subscriber sees and no bus carries: only reading the database again finds it.
      await app.get(DataSource).query(`UPDATE members SET login = 'renamed-by-sql' WHERE member_id = 'm-renamed'`);
      clock.advance(160);
      const ask = async () =>
        (await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${renamed.token}`)).status;
      const refreshes = await queries.during(async () => {
        // Past half of busTtlSeconds, a request starts the refresh; the answer it gets is still the cached one.
        expect(await reads(busy[0]!.token)).toBe(0);
        await until(ask, 401);
      });
      expect(refreshes.filter((q) => /^\s*SELECT.* IN \(/s.test(q))).toHaveLength(1);

      // Read again at 160 s, the busy tokens are trusted until 460 s: past the 300 s of their first read.
      clock.advance(250);
      for (const { token } of busy) expect(await reads(token)).toBe(0);
    });

    it("keeps a use it recorded after the refresh's read, its address and user agent with its time", async () => {
      const members = app.get(DataSource).getRepository(Member);
      await members.save({
        memberId: 'm-audit',
        login: 'audit',
        secret: 'h',
        disabled: false,
        bio: null,
        grants: ['*'],
      });
      const tokens = app.get(TokensService);
      const { token } = await tokens.issue('m-audit', { name: 'audited', scopes: ['reports:*'] });
      const ask = (agent: string) =>
        request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).set('User-Agent', agent);
      await ask('before/1').expect(200);
      await tokens.flushUses();
      // A change the refresh must read (the member's permissions, by SQL), then past half of busTtlSeconds:
      // the next request starts the refresh, whose read goes out before this request's use is queued.
      await members.update({ memberId: 'm-audit' }, { grants: ['reports:read'] });
      clock.advance(160);
      const used = clock.now();
      await ask('after/2').expect(200);
      // The refresh runs in the background: asked until its entry answers.
      const start = Date.now();
      while (((await ask('after/2').expect(200)).body as { scopes: string[] }).scopes[0] !== 'reports:read') {
        if (Date.now() - start > 3000) throw new Error('the refresh did not read the new permissions');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // The refreshed entry: the new scopes, and the later use's time, address and user agent together.
      expect((await tokens.verify(token)).accessToken).toMatchObject({
        lastUsedAt: used,
        lastUsedIp: '127.0.0.1',
        lastUsedUserAgent: 'after/2',
      });
    });

    /** Single-token lookups (not the refresh's batched read) while `token` is asked for, and answered 200. */
    async function reads(token: string): Promise<number> {
      const ran = await queries.during(() =>
        request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(200),
      );
      return ran.filter((q) => /^\s*SELECT/i.test(q) && !/ IN \(/.test(q)).length;
    }
  },
);

if (testDatabaseKind() === 'postgres') {
  describe.each(HTTP_ADAPTERS)('a PostgreSQL bus lost with its database, on $server, on postgres', ({ adapter }) => {
    const clock = new ManualClock();
    let database: TestDatabase;
    let proxy: TcpProxy;
    let app: INestApplication;

    beforeAll(async () => {
      database = await createTestDatabase();
      proxy = await new TcpProxy({ host: '127.0.0.1', port: (database.options as { port: number }).port }).start();
      const bus: CacheBusOptions = { type: 'postgres', channel: `nat_test_${randomBytes(4).toString('hex')}` };
      const throughProxy = { options: { ...database.options, port: proxy.port } as typeof database.options };
      app = await startFixtureApp(
        throughProxy,
        { ...FIXTURE_OPTIONS, clock, cache: { ttlSeconds: 10, busTtlSeconds: 300, bus } },
        { adapter },
      );
    });

    afterAll(async () => {
      await app?.close();
      await proxy?.stop();
      await database?.drop();
    });

    it('keeps answering cached tokens for cache.ttlSeconds while the database is away, then 503, and flushes once both are back', async () => {
      await app
        .get(DataSource)
        .getRepository(Member)
        .save({ memberId: 'm-away', login: 'away', secret: 'h', disabled: false, bio: null, grants: ['*'] });
      const { token } = await app.get(TokensService).issue('m-away', { name: 'x' });
      const ask = async () =>
        (await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`)).status;
      expect(await ask()).toBe(200);
      clock.advance(200);

      await proxy.cut();
      await eventually(() => app.get(TokensService).health().cacheBus === 'down');
      for (let request = 0; request < 20; request++) expect(await ask()).toBe(200);
      clock.advance(9);
      expect(await ask()).toBe(200);
      clock.advance(2);
      const refused = await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`);
      expect({ status: refused.status, retryAfter: refused.headers['retry-after'] }).toEqual({
        status: 503,
        retryAfter: '5',
      });

      await proxy.restore();
      await eventually(() => app.get(TokensService).health().cacheBus === 'up');
      expect(await until(ask, 200, 10_000)).toBeLessThan(10_000);
    });
  });
}
