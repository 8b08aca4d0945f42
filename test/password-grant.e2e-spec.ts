import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Controller, Module, Post } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import bcrypt from 'bcrypt';
import request from 'supertest';
import {
  AccessToken,
  AccessTokenGuard,
  AccessTokensModule,
  AllowPassword,
  errors,
  type PasswordAttemptRecord,
  type PasswordAttemptStore,
  PasswordGrantService,
  TokensService,
} from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { createAppOn, HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { Account, ACCOUNT_OPTIONS, basic, COST, startPasswordApp, type PasswordApp } from './fixtures/password-app.js';

const PASSWORD = 'correct horse battery';
/** The limits of the spec's app: few, so that a test reaches them. */
const LIMITS = { perAccount: 3, perClient: 5, windowSeconds: 60 };
/** Attempts are counted per client by this header in the spec, so that each test says which client it is. */
const CLIENT = 'x-test-client';

/** A store shared by apps, as a Redis one would be: counts in a map, and a log of what it was asked. */
class SharedStore implements PasswordAttemptStore {
  readonly calls: { key: string; ttl: number; limit: number; blockDuration: number; name: string }[] = [];
  private readonly hits = new Map<string, number>();

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    name: string,
  ): Promise<PasswordAttemptRecord> {
    this.calls.push({ key, ttl, limit, blockDuration, name });
    const hits = (this.hits.get(key) ?? 0) + 1;
    this.hits.set(key, hits);
    const blocked = hits > limit;
    return {
      totalHits: hits,
      timeToExpire: ttl / 1000,
      isBlocked: blocked,
      timeToBlockExpire: blocked ? blockDuration / 1000 : 0,
    };
  }
}

/**
 * The password grant of `@AllowPassword()` routes and `PasswordGrantService`: HTTP Basic user name
 * and password beside tokens, refusals that tell nothing (checked by the bcrypt work each one
 * does, not by timing), and throttling per account and per client over every way in.
 */
describe.each(HTTP_ADAPTERS)(`the password grant on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  let subject: PasswordApp;
  let http: ReturnType<typeof request>;
  let compare: ReturnType<typeof jest.spyOn>;
  const ids = new Map<string, number>();
  let client = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    subject = await startPasswordApp({
      adapter,
      database: database.options,
      graphql: true,
      options: {
        passwords: {
          throttle: { ...LIMITS, clientKey: (request) => request.headers[CLIENT] as string | undefined },
        },
      },
      extras: { routes: true },
    });
    http = request(subject.app.getHttpServer());
    ids.set('ann', await subject.addAccount('ann@example.com', PASSWORD));
    ids.set('bob', await subject.addAccount('bob@example.com', PASSWORD, { suspended: true }));
    ids.set('cat', await subject.addAccount('cat@example.com', null));
    ids.set('dan', await subject.addAccount('dan@example.com', PASSWORD));
    ids.set('eve', await subject.addAccount('eve@example.com', PASSWORD));
  });

  afterAll(async () => {
    await subject?.app.close();
    await database?.drop();
  });

  beforeEach(() => {
    // A new window for every test, and a client of its own.
    subject.clock.advance(LIMITS.windowSeconds + 1);
    client++;
    compare = jest.spyOn(bcrypt, 'compare');
  });

  afterEach(() => {
    compare.mockRestore();
  });

  const whoami = (authorization?: string) => {
    const call = http.post('/whoami').set(CLIENT, `client-${client}`);
    return authorization === undefined ? call : call.set('Authorization', authorization);
  };
  const login = (username: string, password: string) =>
    http.post('/auth/login').set(CLIENT, `client-${client}`).send({ username, password });
  const graphqlSignIn = async (email: string, password: string) => {
    const response = await http
      .post('/graphql')
      .set(CLIENT, `client-${client}`)
      .send({
        query: 'mutation ($e: String!, $p: String!) { signIn(email: $e, password: $p) }',
        variables: { e: email, p: password },
      });
    const error = (response.body as { errors?: { extensions: Record<string, unknown> }[] }).errors?.[0];
    return { response, error };
  };

  it('signs in by HTTP Basic user name and password on an @AllowPassword() route, and by token as well', async () => {
    await whoami(basic('ann@example.com', PASSWORD)).expect(200, {
      id: ids.get('ann'),
      email: 'ann@example.com',
      by: 'password',
    });
    const { token } = await subject.app.get(TokensService).issue(ids.get('ann')!, { name: 'ann' });
    await whoami(`Bearer ${token}`).expect(200, { id: ids.get('ann'), email: 'ann@example.com', by: 'token' });
    await whoami(basic(token, '')).expect(200);
  });

  it('refuses a password on a route without @AllowPassword(), as before', async () => {
    const response = await http.get('/me').set('Authorization', basic('ann@example.com', PASSWORD)).expect(400);
    expect(response.body.message).toContain('empty password');
    expect(compare).not.toHaveBeenCalled();
  });

  it('offers both schemes when an @AllowPassword() route gets no credentials, and the token scheme elsewhere', async () => {
    const open = await whoami().expect(401);
    expect(open.headers['www-authenticate']).toBe('Basic realm="api", Bearer realm="api"');
    expect(open.body.reason).toBe('credentials_missing');
    expect((await http.get('/me').expect(401)).headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('refuses a wrong password, an unknown user, a blocked user and a user without a password hash alike, after one bcrypt comparison each of the same cost', async () => {
    const cases = [
      ['a wrong password', 'ann@example.com', 'wrong password'],
      ['an unknown user', 'nobody@example.com', PASSWORD],
      ["a blocked user's right password", 'bob@example.com', PASSWORD],
      ['a user without a password hash', 'cat@example.com', PASSWORD],
    ] as const;
    const answers: { what: string; status: number; body: unknown; challenge: unknown }[] = [];
    for (const [what, username, password] of cases) {
      // Each through both ways in, each on a fresh window so that no count gets in the way.
      for (const send of [() => whoami(basic(username, password)), () => login(username, password)]) {
        subject.clock.advance(LIMITS.windowSeconds + 1);
        compare.mockClear();
        const response = await send();
        answers.push({
          what,
          status: response.status,
          body: response.body,
          challenge: response.headers['www-authenticate'],
        });
        // The same work whatever the case: one comparison, against a hash of the real hashes' cost.
        expect({ what, compares: compare.mock.calls.length }).toEqual({ what, compares: 1 });
        expect(compare.mock.calls[0]![1]).toMatch(new RegExp(`^\\$2[aby]\\$${COST}\\$`));
        expect(JSON.stringify(response.body)).not.toContain(password);
      }
    }
    const [first] = answers;
    expect(first).toMatchObject({
      status: 401,
      body: { statusCode: 401, error: 'invalid_credentials', reason: 'invalid_credentials' },
      challenge: 'Basic realm="api"',
    });
    for (const answer of answers) expect({ ...answer, what: first!.what }).toEqual(first);
  });

  it("compares an unknown user against a dummy hash, never against a user's", async () => {
    const stored = (await subject.dataSource.getRepository(Account).find()).map((account) => account.pwd);
    await whoami(basic('nobody@example.com', PASSWORD)).expect(401);
    const [, hash] = compare.mock.calls[0]! as [string, string];
    expect(stored).not.toContain(hash);
  });

  it('signs in only the name as stored, not another spelling the collation may match', async () => {
    await whoami(basic('ANN@example.com', PASSWORD)).expect(401);
    await whoami(basic('ann@example.com ', PASSWORD)).expect(401);
    await whoami(basic('ann@example.com', PASSWORD)).expect(200);
  });

  it(`throttles an account after ${LIMITS.perAccount} attempts over Basic, the login body and GraphQL together, with 429 and Retry-After`, async () => {
    await whoami(basic('dan@example.com', 'wrong password')).expect(401);
    await login('dan@example.com', 'wrong password').expect(401);
    expect((await graphqlSignIn('dan@example.com', 'wrong password')).error?.extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      reason: 'invalid_credentials',
    });
    compare.mockClear();
    const basicAnswer = await whoami(basic('dan@example.com', PASSWORD)).expect(429);
    expect(basicAnswer.body).toEqual({
      statusCode: 429,
      error: 'too_many_attempts',
      reason: 'too_many_attempts',
      message: `Too many password attempts: try again in ${LIMITS.windowSeconds} seconds`,
    });
    expect(basicAnswer.headers['retry-after']).toBe(String(LIMITS.windowSeconds));
    const bodyAnswer = await login('dan@example.com', PASSWORD).expect(429);
    expect(bodyAnswer.headers['retry-after']).toBe(String(LIMITS.windowSeconds));
    const { response, error } = await graphqlSignIn('dan@example.com', PASSWORD);
    expect(error?.extensions).toMatchObject({
      code: 'TOO_MANY_REQUESTS',
      reason: 'too_many_attempts',
      retryAfter: LIMITS.windowSeconds,
    });
    expect(response.headers['retry-after']).toBe(String(LIMITS.windowSeconds));
    // Refused before the password is looked at.
    expect(compare).not.toHaveBeenCalled();
    // Another account is not held up; time lets dan in again.
    await whoami(basic('eve@example.com', PASSWORD)).expect(200);
    subject.clock.advance(LIMITS.windowSeconds - 1);
    await whoami(basic('dan@example.com', PASSWORD)).expect(429);
    subject.clock.advance(1);
    await whoami(basic('dan@example.com', PASSWORD)).expect(200);
  });

  it("counts every spelling of a name against one account, and answers an unknown account's throttling as a known one's", async () => {
    for (const spelling of ['ANN@example.com', 'ànn@example.com', 'ann@example.com '])
      await whoami(basic(spelling, 'wrong password')).expect(401);
    const known = await whoami(basic('ann@example.com', PASSWORD)).expect(429);
    client++; // out of reach of the client's own limit
    for (let i = 0; i < LIMITS.perAccount; i++) await login('ghost@example.com', 'guess').expect(401);
    const unknown = await login('ghost@example.com', 'guess').expect(429);
    expect(unknown.body).toEqual(known.body);
  });

  it(`throttles a client after ${LIMITS.perClient} attempts, whatever the accounts`, async () => {
    for (let i = 0; i < LIMITS.perClient; i++) await login(`guess${i}@example.com`, 'password').expect(401);
    const throttled = await login('eve@example.com', PASSWORD).expect(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    // Another client, the same account: let in.
    await http
      .post('/auth/login')
      .set(CLIENT, `other-${client}`)
      .send({ username: 'eve@example.com', password: PASSWORD })
      .expect(200);
  });

  it('never counts a token, nor a request without credentials', async () => {
    const { token } = await subject.app.get(TokensService).issue(ids.get('eve')!, { name: 'eve' });
    for (let i = 0; i < LIMITS.perAccount + LIMITS.perClient; i++) await whoami(`Bearer ${token}`).expect(200);
    for (let i = 0; i < LIMITS.perClient; i++) await whoami().expect(401);
    await whoami(basic('eve@example.com', PASSWORD)).expect(200);
  });
});

describe(`the password grant's throttling, its store and its start-up checks, on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  const apps: PasswordApp[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    for (const { app } of apps) await app.close();
    await database?.drop();
  });

  async function start(options: Parameters<typeof startPasswordApp>[0]['options']): Promise<PasswordApp> {
    const started = await startPasswordApp({ database: database.options, options });
    apps.push(started);
    return started;
  }

  it('counts in the store it is given, so that instances sharing one count together', async () => {
    const store = new SharedStore();
    const throttle = { perAccount: 2, perClient: 1000, windowSeconds: 30, store };
    const [first, second] = [await start({ passwords: { throttle } }), await start({ passwords: { throttle } })];
    const id = await first!.addAccount('fay@example.com', PASSWORD);
    await request(first!.app.getHttpServer())
      .post('/whoami')
      .set('Authorization', basic('fay@example.com', 'wrong'))
      .expect(401);
    await request(second!.app.getHttpServer())
      .post('/whoami')
      .set('Authorization', basic('FAY@example.com', 'wrong'))
      .expect(401);
    const throttled = await request(first!.app.getHttpServer())
      .post('/whoami')
      .set('Authorization', basic('fay@example.com', PASSWORD))
      .expect(429);
    expect(throttled.headers['retry-after']).toBe('30');
    expect(store.calls[0]).toEqual({
      key: 'access-tokens:password:account:fay@example.com',
      ttl: 30_000,
      limit: 2,
      blockDuration: 30_000,
      name: 'account',
    });
    expect(
      store.calls.some(
        (call) =>
          call.key === 'access-tokens:password:client:::ffff:127.0.0.1' ||
          call.key === 'access-tokens:password:client:127.0.0.1',
      ),
    ).toBe(true);
    expect(id).toBeGreaterThan(0);
  });

  it('throttles nothing with throttle: false', async () => {
    const open = await start({ passwords: { throttle: false } });
    await open.addAccount('gus@example.com', PASSWORD);
    for (let i = 0; i < 12; i++)
      await request(open.app.getHttpServer())
        .post('/whoami')
        .set('Authorization', basic('gus@example.com', 'wrong'))
        .expect(401);
    await request(open.app.getHttpServer())
      .post('/whoami')
      .set('Authorization', basic('gus@example.com', PASSWORD))
      .expect(200);
  });

  it('is a service too: authenticate() counts and refuses as the routes do', async () => {
    const served = await start({ passwords: { throttle: { perAccount: 1 } } });
    await served.addAccount('hal@example.com', PASSWORD);
    const passwords = served.app.get(PasswordGrantService);
    await expect(passwords.authenticate<Account>('hal@example.com', PASSWORD)).resolves.toMatchObject({
      email: 'hal@example.com',
    });
    await expect(passwords.authenticate('hal@example.com', PASSWORD)).rejects.toBeInstanceOf(
      errors.TooManyAttemptsError,
    );
    // Not text a database takes: refused as a wrong password, never a 500.
    await expect(passwords.authenticate('x\u0000y', PASSWORD)).rejects.toMatchObject({ code: 'invalid_credentials' });
  });

  it('compares unknown users against a dummy hash of the cost the stored hashes have', async () => {
    const costly = await createTestDatabase();
    let started: PasswordApp | undefined;
    try {
      // The table made and an account of cost 11 stored before the app starts, as in an app that has users.
      const seeding = await startPasswordApp({ database: costly.options });
      await seeding.dataSource
        .getRepository(Account)
        .save({ email: 'ida@example.com', pwd: await bcrypt.hash(PASSWORD, 11), suspended: false, grants: [] });
      await seeding.app.close();
      started = await startPasswordApp({ database: costly.options });
      const compare = jest.spyOn(bcrypt, 'compare');
      try {
        const http = request(started.app.getHttpServer());
        await http.post('/whoami').set('Authorization', basic('nobody@example.com', PASSWORD)).expect(401);
        await http.post('/whoami').set('Authorization', basic('ida@example.com', PASSWORD)).expect(200);
        expect(compare.mock.calls.map(([, hash]) => String(hash).slice(0, 7))).toEqual(['$2b$11$', '$2b$11$']);
      } finally {
        compare.mockRestore();
      }
    } finally {
      await started?.app.close();
      await costly.drop();
    }
  });

  it('stops at start-up when a route has @AllowPassword() but users have no password field', async () => {
    @Controller()
    class Marked {
      @AllowPassword()
      @Post('first')
      first() {
        return {};
      }
    }
    @Module({
      imports: [
        TypeOrmModule.forRoot({ ...database.options, entities: [Account, AccessToken], synchronize: true }),
        AccessTokensModule.forRoot({ ...ACCOUNT_OPTIONS, user: { ...ACCOUNT_OPTIONS.user, passwordHashField: null } }),
      ],
      controllers: [Marked],
      providers: [AccessTokenGuard],
    })
    class NoPasswords {}
    const moduleRef = await Test.createTestingModule({ imports: [NoPasswords] }).compile();
    const failure = createAppOn(moduleRef, 'express', { logger: false });
    await expect(failure).rejects.toBeInstanceOf(errors.InvalidOptionsError);
    await expect(failure).rejects.toThrow(/@AllowPassword\(\) is on Marked.first, but user.passwordHashField is null/);
    await moduleRef.close();
  });
});
