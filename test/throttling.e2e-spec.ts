import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { databaseUrl, startServer, type ServerProcess } from './fixtures/server-process.js';

const PASSWORD = 'correct horse battery';
const ADMIN = { username: 'admin', password: 'admin password 1' };

/**
 * Password throttling, from outside, on the built server (3 attempts a minute per account): no
 * header, spelling or blocked account lets a guesser past it or tells them anything.
 */
describe.each(HTTP_ADAPTERS)(
  `password throttling that cannot be sidestepped, on $server, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    let database: TestDatabase;
    let server: ServerProcess;
    let http: ReturnType<typeof request>;
    const ids = new Map<string, number>();

    beforeAll(async () => {
      database = await createTestDatabase();
      server = await startServer({
        DATABASE_URL: databaseUrl(database),
        LOGIN_ATTEMPTS_PER_USER: '3',
        LOGIN_ATTEMPTS_PER_CLIENT: '1000',
        ADMIN_USERNAME: ADMIN.username,
        ADMIN_PASSWORD: ADMIN.password,
        HTTP_ADAPTER: adapter,
      });
      http = request(server.url);
      for (const username of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']) {
        ids.set(username, (await http.post('/users').send({ username, password: PASSWORD }).expect(201)).body.id);
      }
    });

    afterAll(async () => {
      await server?.stop();
      await database?.drop();
    });

    const login = (username: string, password: string, authorization?: string) => {
      const call = http.post('/auth/login');
      return (authorization ? call.set('Authorization', authorization) : call).send({ username, password });
    };
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

    it.each([
      ['alice', 'a Bearer token', 'Bearer x'],
      ['bob', 'Basic credentials of another name', basic('decoy', 'x')],
    ])('counts the guesses at %s that carry %s in the Authorization header', async (username, _what, authorization) => {
      for (let i = 0; i < 3; i++) expect((await login(username, 'wrong password', authorization)).status).toBe(401);
      await login(username, PASSWORD, authorization).expect(429);
      await login(username, PASSWORD).expect(429);
    });

    it('counts every spelling the database would match against one account', async () => {
      for (const spelling of ['CAROL', 'càrol', 'carol '])
        expect((await login(spelling, 'wrong password')).status).toBe(401);
      await login('carol', PASSWORD).expect(429);
    });

    it('signs in only the name as stored, not another spelling the collation matches', async () => {
      await login('DAVE', PASSWORD).expect(401);
      await login('dàve', PASSWORD).expect(401);
      await login('dave', PASSWORD).expect(200);
    });

    it("answers a blocked user's right password exactly as a wrong one", async () => {
      const admin = (await login(ADMIN.username, ADMIN.password).expect(200)).body;
      await http
        .post(`/users/${ids.get('erin')}/block`)
        .set('Authorization', `Bearer ${admin.accessToken}`)
        .expect(204);
      const right = await login('erin', PASSWORD);
      const wrong = await login('erin', 'wrong password');
      expect(right.status).toBe(401);
      expect({ body: right.body, challenge: right.headers['www-authenticate'] }).toEqual({
        body: wrong.body,
        challenge: wrong.headers['www-authenticate'],
      });
      const basicRight = await http.post('/tokens/generate').set('Authorization', basic('erin', PASSWORD));
      const basicWrong = await http.post('/tokens/generate').set('Authorization', basic('frank', 'wrong password'));
      expect({ status: basicRight.status, body: basicRight.body }).toEqual({ status: 401, body: basicWrong.body });
    });

    /** The GraphQL `login` mutation, answering as a client reads it: the HTTP answer and its one error. */
    const graphqlLogin = async (username: string, password: string) => {
      const response = await http.post('/graphql').send({
        query: 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }',
        variables: { u: username, p: password },
      });
      const error = (response.body as { errors?: { message: string; extensions: Record<string, unknown> }[] })
        .errors?.[0];
      return { response, error };
    };

    it('counts guesses over GraphQL and over REST against one account, and answers TOO_MANY_REQUESTS with Retry-After', async () => {
      await http.post('/users').send({ username: 'gwen', password: PASSWORD }).expect(201);
      for (let i = 0; i < 2; i++) await login('gwen', 'wrong password').expect(401);
      expect((await graphqlLogin('gwen', 'wrong password')).error?.extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'invalid_credentials',
      });
      const { response, error } = await graphqlLogin('gwen', PASSWORD);
      expect(error?.extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', retryAfter: expect.any(Number) });
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
      expect(JSON.stringify(response.body)).not.toContain('INTERNAL_SERVER_ERROR');
      await login('gwen', PASSWORD).expect(429);
    });

    it('counts guesses over GraphQL, under any spelling of the name, against the account REST then refuses', async () => {
      for (const username of ['hank', 'ivy'])
        await http.post('/users').send({ username, password: PASSWORD }).expect(201);
      for (const spelling of ['HANK', 'hànk', 'hank ']) {
        expect((await graphqlLogin(spelling, 'wrong password')).error?.extensions).toMatchObject({
          code: 'UNAUTHENTICATED',
        });
      }
      await login('hank', PASSWORD).expect(429);
      expect((await graphqlLogin('hank', PASSWORD)).error?.extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
      // Another account is not held up by hank's.
      expect((await graphqlLogin('ivy', PASSWORD)).response.body.data.login.accessToken).toMatch(/^nat_s_/);
    });
  },
);

describe.each(HTTP_ADAPTERS)(
  `password throttling shared by two instances through Redis, on $server, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    let database: TestDatabase;
    const servers: ServerProcess[] = [];

    beforeAll(async () => {
      database = await createTestDatabase();
      const env = {
        DATABASE_URL: databaseUrl(database),
        TOKEN_CACHE_BUS: 'redis://127.0.0.1:6379',
        LOGIN_ATTEMPTS_PER_USER: '3',
        LOGIN_ATTEMPTS_PER_CLIENT: '1000',
        HTTP_ADAPTER: adapter,
      };
      // One after the other: the first migrates the database.
      servers.push(await startServer(env));
      servers.push(await startServer(env));
    });

    afterAll(async () => {
      await Promise.all(servers.map((server) => server.stop()));
      await database?.drop();
    });

    it('counts attempts spread over the instances as one', async () => {
      const [a, b] = servers.map((server) => request(server.url));
      await a!.post('/users').send({ username: 'gina', password: PASSWORD }).expect(201);
      for (const http of [a!, b!, a!])
        await http.post('/auth/login').send({ username: 'gina', password: 'wrong password' }).expect(401);
      const throttled = await b!.post('/auth/login').send({ username: 'gina', password: PASSWORD }).expect(429);
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      await a!.post('/auth/login').send({ username: 'gina', password: PASSWORD }).expect(429);
    });
  },
);
