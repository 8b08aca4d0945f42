import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UseGuards, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AccessTokenEvents, AccessTokenGuard, AccessTokensModule, TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, FixtureAppModule, Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { createAppOn, HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { TestTelemetry } from './fixtures/telemetry.js';

const VERIFICATIONS = 'access_tokens.verifications';
const DURATION = 'access_tokens.verification.duration';
const CACHE = 'access_tokens.cache.lookups';
const BUS = 'access_tokens.cache_bus.state';
const CANARY = 'access_tokens.canary_uses';
const SPAN = 'access_tokens.verify';

const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
  version: string;
};

/**
 * The module's OpenTelemetry metrics and spans, read with the SDK's own reader and in-memory span
 * exporter, handed to the module through its `telemetry` option (nothing registered globally).
 */
describe.each(HTTP_ADAPTERS)(`OpenTelemetry on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  let app: INestApplication;
  let tokens: TokensService;
  const telemetry = new TestTelemetry();
  const member = `otel-${adapter}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startFixtureApp(
      database,
      {
        ...FIXTURE_OPTIONS,
        telemetry: { meterProvider: telemetry.meterProvider, tracerProvider: telemetry.tracerProvider },
      },
      { adapter },
    );
    tokens = app.get(TokensService);
    await app
      .get(DataSource)
      .getRepository(Member)
      .save({ memberId: member, login: member, secret: 'h', disabled: false, bio: null, grants: ['*'] });
  });

  afterAll(async () => {
    await app?.close();
    await telemetry.shutdown();
    await database?.drop();
  });

  const get = (token: string) => request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`);
  /** How much each of `counts` grew while `act` ran. */
  const growth = async (act: () => Promise<unknown>, counts: Record<string, [string, Record<string, string>]>) => {
    const read = async () =>
      Object.fromEntries(
        await Promise.all(
          Object.entries(counts).map(async ([key, [name, attributes]]) => [
            key,
            await telemetry.count(name, attributes),
          ]),
        ),
      ) as Record<string, number>;
    const before = await read();
    await act();
    const after = await read();
    return Object.fromEntries(Object.keys(counts).map((key) => [key, after[key]! - before[key]!]));
  };

  it('counts verifications by outcome and transport, and cache lookups by result', async () => {
    const { token } = await tokens.issue(member, { name: 'counted', scopes: ['reports:read'] });
    const revoked = await tokens.issue(member, { name: 'revoked', scopes: ['reports:read'] });
    await tokens.revoke(member, revoked.accessToken.id);
    const grown = await growth(
      async () => {
        await get(token).expect(200); // a miss, verified from the database
        await get(token).expect(200); // a hit
        await get('fx_not-a-token').expect(401);
        await get(revoked.token).expect(401);
        await tokens.verify(token); // a hit, by the service
      },
      {
        verified: [VERIFICATIONS, { outcome: 'verified', transport: 'http' }],
        malformed: [VERIFICATIONS, { outcome: 'malformed', transport: 'http' }],
        revoked: [VERIFICATIONS, { outcome: 'revoked', transport: 'http' }],
        direct: [VERIFICATIONS, { outcome: 'verified', transport: 'direct' }],
        hits: [CACHE, { result: 'hit' }],
        misses: [CACHE, { result: 'miss' }],
      },
    );
    // The malformed token never reaches the cache: it is refused on its length.
    expect(grown).toEqual({ verified: 2, malformed: 1, revoked: 1, direct: 1, hits: 2, misses: 2 });
  });

  it('reports the latency of each verification in a histogram with sub-millisecond buckets, in seconds', async () => {
    const { token } = await tokens.issue(member, { name: 'timed', scopes: ['reports:read'] });
    const before = await telemetry.points(DURATION);
    const countOf = (points: typeof before) =>
      points
        .filter((point) => point.attributes.outcome === 'verified' && point.attributes.transport === 'http')
        .reduce((sum, point) => sum + (point.value as { count: number }).count, 0);
    await get(token).expect(200);
    await get(token).expect(200);
    const metric = (await telemetry.metrics()).find((m) => m.descriptor.name === DURATION)!;
    expect(metric.descriptor.unit).toBe('s');
    const after = metric.dataPoints;
    expect(countOf(after) - countOf(before)).toBe(2);
    const point = after.find((p) => p.attributes.outcome === 'verified' && p.attributes.transport === 'http')!;
    const { buckets, max } = point.value as { buckets: { boundaries: number[] }; max: number };
    expect(buckets.boundaries[0]).toBeLessThanOrEqual(0.00001);
    expect(max).toBeGreaterThan(0);
    expect(max).toBeLessThan(5);
  });

  it('spans each database verification, with its outcome and kind, and a cache hit not at all', async () => {
    const { token, accessToken } = await tokens.issue(member, { name: 'spanned', scopes: ['reports:read'] });
    telemetry.spans.reset();
    await get(token).expect(200);
    const [span, ...others] = telemetry.finishedSpans(SPAN);
    expect(others).toEqual([]);
    expect(span!.attributes).toEqual({
      'access_tokens.outcome': 'verified',
      'access_tokens.token.kind': 'personal',
      'access_tokens.token.id': accessToken.id,
    });
    expect(span!.instrumentationScope).toMatchObject({ name: 'nestjs-access-tokens', version });
    await get(token).expect(200);
    await get(token).expect(200);
    expect(telemetry.finishedSpans(SPAN)).toHaveLength(1);

    await tokens.revoke(member, accessToken.id);
    await get(token).expect(401);
    const refused = telemetry.finishedSpans(SPAN)[1]!;
    expect(refused.attributes).toMatchObject({ 'access_tokens.outcome': 'revoked' });
    // A refusal is the check doing its job, not an error of the span.
    expect(refused.status.code).not.toBe(2);
  });

  it('puts no raw token and no hash of one in any metric or span', async () => {
    const { token } = await tokens.issue(member, { name: 'secret', scopes: ['reports:read'] });
    await get(token).expect(200);
    // Its checksum broken: another last character.
    await get(`${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`).expect(401);
    const exported = await telemetry.exportedText();
    expect(exported).toContain(SPAN);
    expect(exported).toContain(VERIFICATIONS);
    for (const secret of [token, createHash('sha256').update(token).digest('hex'), token.slice(3, 30)])
      expect(exported).not.toContain(secret);
  });

  it('reports the cache bus state as a gauge: none without a bus', async () => {
    const points = await telemetry.points(BUS);
    expect(Object.fromEntries(points.map((point) => [point.attributes.state, point.value]))).toEqual({
      up: 0,
      down: 0,
      none: 1,
    });
  });

  it('counts the uses of canary tokens', async () => {
    const grown = await growth(
      async () =>
        app.get(AccessTokenEvents).emit('canary_used', {
          userId: member,
          tokenId: 'canary-id',
          name: 'canary',
          address: '192.0.2.1',
          userAgent: 'curl',
          at: new Date(),
        }),
      { canary: [CANARY, {}] },
    );
    expect(grown).toEqual({ canary: 1 });
  });

  it('reports under the package name and version', async () => {
    expect(await telemetry.scopes()).toEqual([{ name: 'nestjs-access-tokens', version }]);
  });
});

describe(`OpenTelemetry switched off, or without an SDK, on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    await database?.drop();
  });

  it.each([
    ['telemetry: false', { telemetry: false as const }],
    ['no SDK registered (the global no-op providers)', {}],
  ])('verifies and refuses as ever with %s', async (_name, telemetryOption) => {
    const app = await startFixtureApp(database, { ...FIXTURE_OPTIONS, ...telemetryOption });
    apps.push(app);
    const members = app.get(DataSource).getRepository(Member);
    await members.save({ memberId: 'quiet', login: 'quiet', secret: 'h', disabled: false, bio: null, grants: ['*'] });
    const { token } = await app.get(TokensService).issue('quiet', { name: 'quiet', scopes: ['reports:read'] });
    await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(200);
    await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(200);
    await request(app.getHttpServer()).get('/reports').set('Authorization', 'Bearer fx_nope').expect(401);
    await expect(app.get(TokensService).verify(token)).resolves.toMatchObject({ user: { memberId: 'quiet' } });
  });
});

describe(`OpenTelemetry with a cache bus, on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  let app: INestApplication;
  const telemetry = new TestTelemetry();

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startFixtureApp(database, {
      ...FIXTURE_OPTIONS,
      cache: { bus: { type: 'redis', url: 'redis://127.0.0.1:6379', channel: `nat_test_otel_${Date.now()}` } },
      telemetry: { meterProvider: telemetry.meterProvider },
    });
  });

  afterAll(async () => {
    await app?.close();
    await telemetry.shutdown();
    await database?.drop();
  });

  it('reports the bus up', async () => {
    const points = await telemetry.points(BUS);
    expect(Object.fromEntries(points.map((point) => [point.attributes.state, point.value]))).toEqual({
      up: 1,
      down: 0,
      none: 0,
    });
  });
});

describe(`OpenTelemetry of two apps in one process, on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  const apps: INestApplication[] = [];
  const own = [new TestTelemetry(), new TestTelemetry()];
  const shared = new TestTelemetry();

  beforeAll(async () => {
    database = await createTestDatabase();
    for (const telemetry of [...own, shared, shared])
      apps.push(
        await startFixtureApp(database, { ...FIXTURE_OPTIONS, telemetry: { meterProvider: telemetry.meterProvider } }),
      );
    await apps[0]!
      .get(DataSource)
      .getRepository(Member)
      .save({ memberId: 'two', login: 'two', secret: 'h', disabled: false, bio: null, grants: ['*'] });
  });

  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const telemetry of [...own, shared]) await telemetry.shutdown();
    await database?.drop();
  });

  it('keeps the counts of apps with providers of their own apart, and adds up those of apps sharing one', async () => {
    const { token } = await apps[0]!.get(TokensService).issue('two', { name: 'two', scopes: ['reports:read'] });
    const ask = (app: INestApplication, times: number) =>
      Array.from({ length: times }).reduce<Promise<unknown>>(
        (previous) =>
          previous.then(() =>
            request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(200),
          ),
        Promise.resolve(),
      );
    await ask(apps[0]!, 1);
    await ask(apps[1]!, 2);
    await ask(apps[2]!, 3);
    await ask(apps[3]!, 4);
    const verified = { outcome: 'verified', transport: 'http' };
    expect(await own[0]!.count(VERIFICATIONS, verified)).toBe(1);
    expect(await own[1]!.count(VERIFICATIONS, verified)).toBe(2);
    expect(await shared.count(VERIFICATIONS, verified)).toBe(7);
    // Each app's own cache: one miss each, the rest hits.
    expect(await shared.count(CACHE, { result: 'miss' })).toBe(2);
    expect(await shared.count(CACHE, { result: 'hit' })).toBe(5);
  });
});

@UseGuards(AccessTokenGuard)
@WebSocketGateway()
class WhoAmIGateway {
  @SubscribeMessage('whoami')
  whoami() {
    return 'you';
  }
}

describe(`OpenTelemetry in a socket.io gateway, on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  let app: INestApplication;
  let url: string;
  const telemetry = new TestTelemetry();
  const sockets: Socket[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [
        FixtureAppModule.forRoot(
          database.options,
          AccessTokensModule.forRoot({ ...FIXTURE_OPTIONS, telemetry: { meterProvider: telemetry.meterProvider } }),
        ),
      ],
      providers: [WhoAmIGateway],
    }).compile();
    app = await createAppOn(moduleRef, 'express', { logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    await app
      .get(DataSource)
      .getRepository(Member)
      .insert({ memberId: 'm-ws', login: 'ws', secret: 'x', disabled: false, grants: ['*'] });
  });

  afterAll(async () => {
    sockets.forEach((socket) => socket.disconnect());
    await app?.close();
    await telemetry.shutdown();
    await database?.drop();
  });

  const whoami = async (token: string): Promise<void> => {
    const socket = io(url, { transports: ['websocket'], auth: { token } });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
    await new Promise<void>((resolve) => {
      socket.once('exception', () => resolve());
      socket.emit('whoami', {}, () => resolve());
    });
  };

  it('counts the verifications of a gateway as transport ws', async () => {
    const { token } = await app.get(TokensService).issue('m-ws', { name: 'ws' });
    await whoami(token);
    await whoami('fx_garbage');
    expect(await telemetry.count(VERIFICATIONS, { outcome: 'verified', transport: 'ws' })).toBe(1);
    expect(await telemetry.count(VERIFICATIONS, { outcome: 'malformed', transport: 'ws' })).toBe(1);
    expect(await telemetry.count(VERIFICATIONS, { transport: 'http' })).toBe(0);
  });
});
