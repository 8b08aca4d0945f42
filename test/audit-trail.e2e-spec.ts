import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  AccessTokenEvents,
  SessionsService,
  TokensService,
  type AccessTokenEventMap,
  type AccessTokensModuleOptions,
  type IssueTokenInput,
} from 'nestjs-access-tokens';
import { ManualClock } from 'nestjs-access-tokens/testing';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, FixtureAppModule, Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { createAppOn, HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { QueryCounter } from './fixtures/query-counter.js';

const MEMBER = 'audit-member';
const DAY = 86_400;
/** A year: the tokens here outlive the 90 days of the least-privilege hints. */
const LIFETIME = 365 * DAY;
/** Characters a stored user agent must never hold: control characters and lone surrogates. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNCLEAN = /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A header's value as Node reads its bytes (one character a byte), for a UTF-8 user agent sent as it is. */
const asSent = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

async function saveMember(app: INestApplication): Promise<void> {
  await app
    .get(DataSource)
    .getRepository(Member)
    .save({ memberId: MEMBER, login: 'audit', secret: 'h', disabled: false, bio: null, grants: ['*'] });
}

/**
 * What a token did, as its owner sees it in a list: the address and user agent of its last use
 * (written with `lastUsedAt`, no write more), `first_used` once, the scopes that granted requests
 * and those unused for 90 days. The race of two instances for a first use is in
 * audit-races.e2e-spec.ts.
 */
describe.each(HTTP_ADAPTERS)(`the audit trail on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  let app: INestApplication;
  let tokens: TokensService;
  const clock = new ManualClock();
  const queries = new QueryCounter();
  const firstUses: AccessTokenEventMap['first_used'][] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const options: AccessTokensModuleOptions = {
      ...FIXTURE_OPTIONS,
      clock,
      // Cached long enough that the clock's jumps below keep requests on cache hits.
      cache: { ttlSeconds: 400 * DAY },
    };
    app = await startFixtureApp(database, options, { queries, adapter });
    tokens = app.get(TokensService);
    app.get(AccessTokenEvents).on('first_used', (event) => void firstUses.push(event));
    await saveMember(app);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const issue = (input: Partial<IssueTokenInput> = {}) =>
    tokens.issue(MEMBER, { name: 'audit', expiresIn: LIFETIME, scopes: ['reports:*'], ...input });
  const get = (token: string, path = '/reports', userAgent = 'audit-test/1.0') =>
    request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`).set('User-Agent', userAgent);
  const viewOf = async (id: string) => (await tokens.list(MEMBER)).find((token) => token.id === id)!;
  /** Past `tokens.lastUsedIntervalSeconds` (60): the next use is recorded. */
  const nextInterval = () => clock.advance(61);

  it('shows the address and user agent of the last recorded use in the list', async () => {
    const { token, accessToken } = await issue();
    expect(accessToken).toMatchObject({ lastUsedAt: null, lastUsedIp: null, lastUsedUserAgent: null });
    await get(token, '/reports', 'audit-test/1.0').expect(200);
    await tokens.flushUses();
    expect(await viewOf(accessToken.id)).toMatchObject({
      lastUsedAt: clock.now(),
      lastUsedIp: '127.0.0.1',
      lastUsedUserAgent: 'audit-test/1.0',
    });
    // Within the interval, another use is not recorded: the first stays.
    await get(token, '/reports', 'other/2.0').expect(200);
    await tokens.flushUses();
    expect((await viewOf(accessToken.id)).lastUsedUserAgent).toBe('audit-test/1.0');
    nextInterval();
    await get(token, '/reports', 'other/2.0').expect(200);
    await tokens.flushUses();
    expect(await viewOf(accessToken.id)).toMatchObject({ lastUsedAt: clock.now(), lastUsedUserAgent: 'other/2.0' });
    // The cached verification shows the use it recorded, as @CurrentToken() gives it.
    expect((await tokens.verify(token)).accessToken).toMatchObject({
      lastUsedAt: clock.now(),
      lastUsedIp: '127.0.0.1',
      lastUsedUserAgent: 'other/2.0',
    });
  });

  it('stores a hostile user agent bounded and clean: 255 characters, no half emoji, no control characters', async () => {
    const { token, accessToken } = await issue();
    // 18 characters once the tabs are one space, 236 more, then an emoji across the 255th; its
    // UTF-8 bytes sent as they are (an HTTP client refuses other control characters itself).
    const hostile = `Mozilla/5.0\t\t(evil)${'a'.repeat(236)}😀${'b'.repeat(6000)}`;
    await get(token, '/reports', asSent(hostile)).expect(200);
    await tokens.flushUses();
    const stored = (await viewOf(accessToken.id)).lastUsedUserAgent!;
    expect(stored).toBe(`Mozilla/5.0 (evil)${'a'.repeat(236)}`);
    expect(stored).not.toMatch(UNCLEAN);

    // What no HTTP server lets through reaches TokensService.verify(): 1 MB of NUL, line breaks and
    // lone surrogates, from an IPv4-mapped address.
    nextInterval();
    const huge = `bot\u0000\r\nX-Injected: 1\uD800${'😀'.repeat(500_000)}`;
    await tokens.verify(token, { ip: '::ffff:203.0.113.9', headers: { 'user-agent': huge } });
    await tokens.flushUses();
    const view = await viewOf(accessToken.id);
    expect(view.lastUsedIp).toBe('203.0.113.9');
    expect(view.lastUsedUserAgent).toBe(`bot X-Injected: 1\uFFFD${'😀'.repeat(118)}`);
    expect(view.lastUsedUserAgent!.length).toBeLessThanOrEqual(255);
    expect(view.lastUsedUserAgent).not.toMatch(UNCLEAN);
    // An address that is none is not kept.
    nextInterval();
    await tokens.verify(token, { ip: 'not an address', headers: {} });
    await tokens.flushUses();
    expect(await viewOf(accessToken.id)).toMatchObject({ lastUsedIp: null, lastUsedUserAgent: null });
  });

  it('costs no query on cached requests within an interval, and one batched write past it', async () => {
    const { token } = await issue();
    const others = await Promise.all([issue({ name: 'other 1' }), issue({ name: 'other 2' })]);
    await get(token).expect(200);
    for (const other of others) await get(other.token, '/reports/export').expect(200);
    const within = await queries.during(async () => {
      for (let i = 0; i < 20; i++) await get(token, i % 2 ? '/reports' : '/reports/export', `agent ${i}`).expect(200);
      await tokens.flushUses();
    });
    expect(within).toEqual([]);
    nextInterval();
    const past = await queries.during(async () => {
      // The uses due, queued together (a batch waits a second at most)...
      await Promise.all([
        get(token, '/reports/export').expect(200),
        ...others.map((other) => get(other.token, '/reports/billing').expect(200)),
      ]);
      // ...and the requests after them, with nothing to record.
      for (let i = 0; i < 20; i++) {
        await get(token, i % 2 ? '/reports' : '/reports/export', `agent ${i}`).expect(200);
        for (const other of others) await get(other.token, '/reports/billing').expect(200);
      }
      await tokens.flushUses();
    });
    // Three tokens' uses, with their addresses, user agents and exercised scopes: one statement.
    expect(past).toHaveLength(1);
    expect(past[0]).toMatch(/^UPDATE /);
  });

  it('fires first_used once, with the address and user agent of the first use', async () => {
    const { token, accessToken } = await issue();
    const at = clock.now();
    await get(token, '/reports', 'first/1.0').expect(200);
    await get(token, '/reports', 'second/1.0').expect(200);
    await tokens.flushUses();
    nextInterval();
    await get(token, '/reports', 'third/1.0').expect(200);
    await tokens.flushUses();
    expect(firstUses.filter((event) => event.tokenId === accessToken.id)).toEqual([
      { userId: MEMBER, tokenId: accessToken.id, address: '127.0.0.1', userAgent: 'first/1.0', at },
    ]);
  });

  it('fires no first_used for the access token of a login session, new at each refresh', async () => {
    const { accessToken } = await app.get(SessionsService).start(MEMBER);
    await get(accessToken, '/reports').expect(200);
    await tokens.flushUses();
    const [session] = (await tokens.list(MEMBER)).filter((view) => view.kind === 'session');
    expect(session).toMatchObject({ lastUsedAt: clock.now(), lastUsedUserAgent: 'audit-test/1.0' });
    expect(firstUses.filter((event) => event.tokenId === session!.id)).toEqual([]);
  });

  it('records which of its scopes granted requests, and lists those unused for 90 days, or never', async () => {
    const { token, accessToken } = await issue({
      scopes: ['reports:read', 'reports:export', 'billing:*', 'users:admin'],
    });
    expect(accessToken.unusedScopes).toEqual(['reports:read', 'reports:export', 'billing:*', 'users:admin']);
    const first = clock.now();
    // reports:read; reports:read and reports:export; reports:read and billing:* (for billing:read).
    for (const path of ['/reports', '/reports/export', '/reports/billing']) await get(token, path).expect(200);
    await tokens.flushUses();
    let view = await viewOf(accessToken.id);
    expect(view.scopesUsedAt).toEqual({ 'reports:read': first, 'reports:export': first, 'billing:*': first });
    expect(view.unusedScopes).toEqual(['users:admin']);

    // 91 days on, only the list is read: the others are unused again.
    clock.advance(91 * DAY);
    await get(token, '/reports').expect(200);
    await tokens.flushUses();
    view = await viewOf(accessToken.id);
    expect(view.scopesUsedAt).toEqual({ 'reports:read': clock.now(), 'reports:export': first, 'billing:*': first });
    expect(view.unusedScopes).toEqual(['reports:export', 'billing:*', 'users:admin']);

    // reports:export, last recorded 91 days ago, is recorded now, in the interval whose use is recorded already.
    await get(token, '/reports/export').expect(200);
    await tokens.flushUses();
    expect((await viewOf(accessToken.id)).unusedScopes).toEqual(['billing:*', 'users:admin']);
  });

  it('narrows a token to what it uses, at once for the cached token, and never widens one', async () => {
    const { token, accessToken } = await issue({ scopes: ['reports:*', 'billing:*', 'users:admin'] });
    await get(token, '/reports/billing').expect(200);
    await tokens.flushUses();
    expect((await viewOf(accessToken.id)).unusedScopes).toEqual(['users:admin']);

    // Wider than its own, or a scope it lacks: refused, and nothing changes.
    for (const scopes of [['*'], ['reports:read', 'teams:write'], []]) {
      await expect(tokens.update(MEMBER, accessToken.id, { scopes })).rejects.toMatchObject({ code: 'invalid_scope' });
    }
    expect((await viewOf(accessToken.id)).scopes).toEqual(['reports:*', 'billing:*', 'users:admin']);

    const narrowed = await tokens.update(MEMBER, accessToken.id, { scopes: ['reports:read', 'billing:*'] });
    // reports:read is a scope of its own now, not exercised as one yet.
    expect(narrowed).toMatchObject({ scopes: ['reports:read', 'billing:*'], unusedScopes: ['reports:read'] });
    // The cached verification went with the change: the next request has only the narrowed scopes.
    await get(token, '/reports').expect(200);
    await get(token, '/reports/export').expect(403);
  });

  it('credits the narrowest of the scopes that cover a requirement, and nothing on a route without @Scopes', async () => {
    const { token, accessToken } = await issue({ scopes: ['*', 'reports:*', 'reports:read'] });
    await get(token, '/reports').expect(200);
    await tokens.flushUses();
    expect((await viewOf(accessToken.id)).unusedScopes).toEqual(['*', 'reports:*']);
    nextInterval();
    await get(token, '/reports/export').expect(200);
    await tokens.flushUses();
    expect((await viewOf(accessToken.id)).unusedScopes).toEqual(['*']);

    const unscoped = await issue({ scopes: ['*'] });
    await get(unscoped.token, '/passport').expect(200);
    await tokens.flushUses();
    expect(await viewOf(unscoped.accessToken.id)).toMatchObject({
      lastUsedAt: clock.now(),
      scopesUsedAt: {},
      unusedScopes: ['*'],
    });
  });
});

describe.each(HTTP_ADAPTERS)(`the last use's address behind a proxy, on $server`, ({ adapter }) => {
  let database: TestDatabase;
  let trusting: INestApplication;
  let untrusting: INestApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [FixtureAppModule.forRoot(database.options)],
    }).compile();
    // The app's own choice to trust the proxy in front of it, as each framework takes it.
    trusting =
      adapter === 'fastify'
        ? await createAppOn(moduleRef, new FastifyAdapter({ trustProxy: true }), { logger: false })
        : await createAppOn(moduleRef, new ExpressAdapter(), {
            logger: false,
            configure: (created) => void (created as NestExpressApplication).set('trust proxy', true),
          });
    untrusting = await startFixtureApp(database, FIXTURE_OPTIONS, { adapter });
    await saveMember(trusting);
  });

  afterAll(async () => {
    await trusting?.close();
    await untrusting?.close();
    await database?.drop();
  });

  it.each([
    ['trusts the proxy: the forwarded client address', () => trusting, '203.0.113.5'],
    ['does not: the address of the connection', () => untrusting, '127.0.0.1'],
  ])('an app that %s', async (_, app, address) => {
    const tokens = app().get(TokensService);
    const { token, accessToken } = await tokens.issue(MEMBER, { name: 'proxy', scopes: ['reports:read'] });
    await request(app().getHttpServer())
      .get('/reports')
      .set('Authorization', `Bearer ${token}`)
      .set('X-Forwarded-For', '203.0.113.5')
      .expect(200);
    await tokens.flushUses();
    expect((await tokens.list(MEMBER)).find((view) => view.id === accessToken.id)!.lastUsedIp).toBe(address);
  });
});
