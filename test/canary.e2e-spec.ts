import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { jest } from '@jest/globals';
import { Logger, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AccessTokenEvents, TokensService, type AccessTokenEventMap } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { basicAuth, startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { FIXTURE_OPTIONS, Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { startPasswordApp, type PasswordApp } from './fixtures/password-app.js';
import { QueryCounter } from './fixtures/query-counter.js';
import { signedUnknownToken } from './fixtures/secrets.js';

const AGENT = 'stolen-laptop/1.0 (curl)';

type CanaryUsed = AccessTokenEventMap['canary_used'];
type VerificationFailed = AccessTokenEventMap['verification_failed'];

/** What a client can tell of an answer: everything but the date. */
function answerOf(response: request.Response) {
  return {
    status: response.status,
    challenge: response.headers['www-authenticate'] as string | undefined,
    contentType: response.headers['content-type'] as string | undefined,
    body: response.text,
  };
}

/** The events of an app, as they were raised. */
function recordEvents(app: INestApplication): { canary: CanaryUsed[]; failed: VerificationFailed[] } {
  const events = app.get(AccessTokenEvents);
  const recorded = { canary: [] as CanaryUsed[], failed: [] as VerificationFailed[] };
  events.on('canary_used', (event) => void recorded.canary.push(event));
  events.on('verification_failed', (event) => void recorded.failed.push(event));
  return recorded;
}

/**
 * Canary tokens: issued through the ready-made routes like any token, they never authenticate;
 * each use is answered exactly as a signed token the database does not know, and raises
 * `canary_used` (address, user agent, which token; never the token) on whichever instance of two
 * on one database it lands, at every use, revoked or not.
 */
describe.each(HTTP_ADAPTERS)(`canary tokens on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  /** Two instances of one app on one database. */
  let a: PasswordApp;
  let b: PasswordApp;
  let eventsOfA: ReturnType<typeof recordEvents>;
  let eventsOfB: ReturnType<typeof recordEvents>;
  let ann: number;
  /** A token of ann's that may manage tokens. */
  let manager: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await startPasswordApp({ adapter, database: database.options, extras: { routes: true } });
    b = await startPasswordApp({
      adapter,
      database: database.options,
      options: { clock: a.clock },
      extras: { routes: true },
    });
    eventsOfA = recordEvents(a.app);
    eventsOfB = recordEvents(b.app);
    ann = await a.addAccount('ann@example.com', null);
    manager = (await a.app.get(TokensService).issue(ann, { name: 'manager' })).token;
  });

  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await database?.drop();
  });

  beforeEach(() => {
    for (const recorded of [eventsOfA, eventsOfB]) {
      recorded.canary.length = 0;
      recorded.failed.length = 0;
    }
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const use = (app: PasswordApp, token: string) =>
    request(app.app.getHttpServer()).get('/me').set(bearer(token)).set('User-Agent', AGENT);
  const issueCanary = async (name = 'tripwire') =>
    (await request(a.app.getHttpServer()).post('/tokens').set(bearer(manager)).send({ name, canary: true }).expect(201))
      .body as { token: string; id: string; canary: boolean; expiresAt: string | null; kind: string };

  it('issues a canary through POST /tokens, listed as a personal token with canary: true, never expiring', async () => {
    const canary = await issueCanary();
    expect(canary).toMatchObject({ kind: 'personal', canary: true, expiresAt: null });
    const listed = await request(a.app.getHttpServer()).get('/tokens').set(bearer(manager)).expect(200);
    const views = listed.body as { id: string; canary: boolean }[];
    expect(views.find((view) => view.id === canary.id)?.canary).toBe(true);
    expect(views.filter((view) => view.id !== canary.id).every((view) => view.canary === false)).toBe(true);
  });

  it('answers a canary byte for byte as a signed token the database does not know, and raises canary_used', async () => {
    const canary = await issueCanary('answers like unknown');
    const unknown = signedUnknownToken('nat');
    const refused = await use(a, canary.token).expect(401);
    const asUnknown = await use(a, unknown).expect(401);
    expect(answerOf(refused)).toEqual(answerOf(asUnknown));
    expect(refused.body).toMatchObject({ error: 'invalid_token', reason: 'unknown' });
    expect(eventsOfA.canary).toEqual([
      {
        userId: String(ann),
        tokenId: canary.id,
        name: 'answers like unknown',
        address: expect.stringMatching(/127\.0\.0\.1|::1/),
        userAgent: AGENT,
        at: a.clock.now(),
      },
    ]);
    expect(JSON.stringify(eventsOfA.canary)).not.toContain(canary.token);
    // The event stream of refusals says what the caller was told: unknown, no token named.
    expect(eventsOfA.failed).toEqual([
      expect.objectContaining({ reason: 'unknown', tokenId: null, userId: null }),
      expect.objectContaining({ reason: 'unknown', tokenId: null, userId: null }),
    ]);
  });

  it('alerts at every use, also several within one second on one instance, answering each as unknown', async () => {
    const canary = await issueCanary('repeated');
    for (let attempt = 0; attempt < 4; attempt++) {
      expect((await use(a, canary.token).expect(401)).body.reason).toBe('unknown');
    }
    // Through the service too, with the request's address and user agent.
    await expect(
      a.app.get(TokensService).verify(canary.token, { ip: '203.0.113.9', headers: { 'user-agent': 'svc\u0000/2' } }),
    ).rejects.toMatchObject({ code: 'unknown' });
    expect(eventsOfA.canary.map(({ tokenId }) => tokenId)).toEqual(Array(5).fill(canary.id));
    expect(eventsOfA.canary.at(-1)).toMatchObject({ address: '203.0.113.9', userAgent: 'svc /2' });
  });

  it('alerts on the instance the canary lands on: issued on one, used on the other', async () => {
    const canary = await issueCanary('other instance');
    await use(b, canary.token).expect(401);
    await use(b, canary.token).expect(401);
    expect(eventsOfB.canary).toEqual([
      expect.objectContaining({ tokenId: canary.id, userAgent: AGENT }),
      expect.objectContaining({ tokenId: canary.id, userAgent: AGENT }),
    ]);
    expect(eventsOfA.canary).toEqual([]);
  });

  it('is still unknown, and still alerts, once revoked; it is never rotated', async () => {
    const canary = await issueCanary('revoked');
    await use(b, canary.token).expect(401);
    await request(a.app.getHttpServer()).delete(`/tokens/${canary.id}`).set(bearer(manager)).expect(204);
    const revoked = await use(b, canary.token).expect(401);
    expect(answerOf(revoked)).toEqual(answerOf(await use(b, signedUnknownToken('nat')).expect(401)));
    expect(eventsOfB.canary.map(({ tokenId }) => tokenId)).toEqual([canary.id, canary.id]);

    const live = await issueCanary('not rotated');
    const rotation = await request(a.app.getHttpServer())
      .post(`/tokens/${live.id}/rotate`)
      .set(bearer(manager))
      .send({})
      .expect(409);
    expect(rotation.body).toMatchObject({ reason: 'token_not_live', message: expect.stringContaining('is a canary') });
  });

  it('refuses a canary with a lifetime: its signed expiry would silence it', async () => {
    const answer = await request(a.app.getHttpServer())
      .post('/tokens')
      .set(bearer(manager))
      .send({ name: 'expiring canary', canary: true, expiresIn: 3600 })
      .expect(400);
    expect(answer.body).toMatchObject({
      reason: 'invalid_expiry',
      message: 'A canary never expires: leave out expiresIn',
    });
    // No expiry asked for is what a canary has anyway.
    const unexpiring = await request(a.app.getHttpServer())
      .post('/tokens')
      .set(bearer(manager))
      .send({ name: 'unexpiring canary', canary: true, expiresIn: null })
      .expect(201);
    expect(unexpiring.body).toMatchObject({ canary: true, expiresAt: null });
  });
});

/**
 * What a canary costs: the one query of any unknown signed token, then none for a minute (the
 * refused-token memory), alerting each time; with the cache off, one query a use, alerting each time.
 */
describe(`a canary's cost, on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  let cached: INestApplication;
  let uncached: INestApplication;
  const queries = new QueryCounter();
  const alerts: CanaryUsed[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    cached = await startFixtureApp(database, FIXTURE_OPTIONS, { queries });
    uncached = await startFixtureApp(database, { ...FIXTURE_OPTIONS, cache: false });
    for (const app of [cached, uncached])
      app.get(AccessTokenEvents).on('canary_used', (event) => void alerts.push(event));
    await cached
      .get(DataSource)
      .getRepository(Member)
      .save({ memberId: 'cost', login: 'cost', secret: 'h', disabled: false, bio: null, grants: ['*'] });
  });

  afterAll(async () => {
    await cached?.close();
    await uncached?.close();
    await database?.drop();
  });

  const use = (app: INestApplication, token: string) =>
    request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(401);

  it('costs the one query of an unknown token, then none while remembered, alerting at every use', async () => {
    const { token } = await cached.get(TokensService).issue('cost', { name: 'cost', canary: true });
    const canary = await queries.during(() => use(cached, token));
    const unknown = await queries.during(() => use(cached, signedUnknownToken('fx')));
    expect(canary).toHaveLength(1);
    expect(unknown).toHaveLength(1);
    expect(await queries.during(() => use(cached, token))).toEqual([]);
    expect(alerts).toHaveLength(2);
  });

  it('alerts at every use with the cache off too', async () => {
    alerts.length = 0;
    const { token } = await uncached.get(TokensService).issue('cost', { name: 'uncached', canary: true });
    await use(uncached, token);
    await use(uncached, token);
    expect(alerts.map(({ name }) => name)).toEqual(['uncached', 'uncached']);
  });
});

/** The demo: a canary from its POST /tokens, answered as an unknown token over REST and GraphQL. */
describe.each(HTTP_ADAPTERS)(`the demo's canary tokens on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let demo: DemoApp;
  let canary: string;
  let alerts: CanaryUsed[];

  beforeAll(async () => {
    demo = await startDemoApp({ httpAdapter: adapter });
    await demo.http.post('/users').send({ username: 'alice', password: 'correct horse battery' }).expect(201);
    const manager = (
      await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', 'correct horse battery'))
        .expect(201)
    ).body.token as string;
    canary = (
      await demo.http
        .post('/tokens')
        .set('Authorization', `Bearer ${manager}`)
        .send({ name: 'in the wiki', canary: true })
        .expect(201)
    ).body.token as string;
    alerts = [];
    demo.app.get(AccessTokenEvents).on('canary_used', (event) => void alerts.push(event));
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('answers GET /users/me with a canary as with an unknown token, and alerts, which the demo logs as a warning', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const refused = await demo.http
      .get('/users/me')
      .set('Authorization', `Bearer ${canary}`)
      .set('User-Agent', 'curl/8.5.0\t(linux)')
      .expect(401);
    const calls = [...warn.mock.calls];
    warn.mockRestore();
    expect(calls).toEqual([
      [
        `canary token ${alerts[0]!.tokenId} "in the wiki" of user ${alerts[0]!.userId} used from ${alerts[0]!.address}, user agent "curl/8.5.0 (linux)"`,
      ],
    ]);
    expect(String(calls)).not.toContain(canary);
    const unknown = await demo.http
      .get('/users/me')
      .set('Authorization', `Bearer ${signedUnknownToken('nat')}`)
      .expect(401);
    expect(answerOf(refused)).toEqual(answerOf(unknown));
    expect(alerts).toHaveLength(1);
  });

  it('answers a GraphQL query with a canary as with an unknown token, and alerts', async () => {
    const ask = (token: string) =>
      demo.http.post('/graphql').set('Authorization', `Bearer ${token}`).send({ query: '{ me { id username } }' });
    const refused = await ask(canary);
    const unknown = await ask(signedUnknownToken('nat'));
    expect(refused.status).toBe(unknown.status);
    expect(refused.body).toEqual(unknown.body);
    expect(JSON.stringify(refused.body)).toContain('unknown');
    expect(alerts).toHaveLength(2);
  });
});
