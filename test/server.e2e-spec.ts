import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import request from 'supertest';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { databaseUrl, startServer, type ServerProcess } from './fixtures/server-process.js';
import { TEST_SECRET } from './fixtures/secrets.js';

/**
 * The built demo API in its own process, as `npm start` runs it: what the in-process specs leave
 * out (the password throttling main.ts sets from LOGIN_ATTEMPTS_PER_USER and the like) and what a
 * user types.
 */
describe.each(HTTP_ADAPTERS)(
  `the built demo API on $server (HTTP_ADAPTER=$adapter), on ${testDatabaseKind()}`,
  ({ adapter }) => {
    let database: TestDatabase;
    let server: ServerProcess;
    let http: ReturnType<typeof request>;

    beforeAll(async () => {
      database = await createTestDatabase();
      server = await startServer({
        DATABASE_URL: databaseUrl(database),
        LOGIN_ATTEMPTS_PER_USER: '3',
        LOGIN_ATTEMPTS_PER_CLIENT: '8',
        ADMIN_USERNAME: 'admin',
        ADMIN_PASSWORD: 'admin password 1',
        HTTP_ADAPTER: adapter,
      });
      http = request(server.url);
    });

    afterAll(async () => {
      await server?.stop();
      await database?.drop();
    });

    it('migrates a fresh database, creates the admin, and serves', async () => {
      expect((await http.get('/health').expect(200)).body).toMatchObject({
        status: 'ok',
        info: { accessTokens: { status: 'up', tokenStore: 'up', cacheBus: 'none' } },
      });
      await http.post('/auth/login').send({ username: 'admin', password: 'admin password 1' }).expect(200);
    });

    it('serves on the server HTTP_ADAPTER names', async () => {
      // The one answer the two servers give apart: Fastify refuses a body it has no parser for
      // (415), where Express leaves it unread and the route finds no fields (400).
      const form = await http.post('/users').type('form').send({ username: 'nina', password: 'correct horse battery' });
      expect(form.status).toBe(adapter === 'fastify' ? 415 : 400);
    });

    it('throttles password attempts per user name with 429 and Retry-After', async () => {
      await http.post('/users').send({ username: 'mia', password: 'correct horse battery' }).expect(201);
      for (let i = 0; i < 3; i++)
        await http.post('/auth/login').send({ username: 'mia', password: 'wrong password' }).expect(401);
      const throttled = await http
        .post('/auth/login')
        .send({ username: 'mia', password: 'correct horse battery' })
        .expect(429);
      expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
      const basic = await http.post('/tokens/generate').auth('MIA', 'correct horse battery').expect(429);
      expect(basic.headers['retry-after']).toBeDefined();
      // Another user name is not held up by mia's.
      await http.post('/auth/login').send({ username: 'admin', password: 'admin password 1' }).expect(200);
    });

    it('throttles a client that tries many user names', async () => {
      let status = 0;
      for (let i = 0; i < 8 && status !== 429; i++) {
        status = (await http.post('/auth/login').send({ username: `guess${i}`, password: 'password' })).status;
      }
      expect(status).toBe(429);
    });

    it('prunes from the command line', async () => {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, ['dist/src/cli.js', 'prune'], {
        // The server's secret, as an operator would export it (on SQLite, the file beside the database).
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl(database),
          ...(database.kind === 'sqlite' ? {} : { TOKEN_SECRET: TEST_SECRET }),
        },
      });
      expect(stdout + stderr).toMatch(/Pruned \d+ tokens?/);
      await expect(promisify(execFile)(process.execPath, ['dist/src/cli.js', 'nonsense'])).rejects.toMatchObject({
        code: 2,
      });
    });

    it('serves GraphQL, taking the token from the query parameter TOKEN_QUERY_PARAMETER names, and from none unless set', async () => {
      const me = '{ me { username } }';
      // Another instance on the same database, with counts of attempts of its own.
      const withJwt = await startServer({
        DATABASE_URL: databaseUrl(database),
        TOKEN_QUERY_PARAMETER: 'jwt',
        HTTP_ADAPTER: adapter,
      });
      try {
        const login = await request(withJwt.url)
          .post('/graphql')
          .send({ query: 'mutation { login(username: "admin", password: "admin password 1") { accessToken } }' })
          .expect(200);
        const token = login.body.data.login.accessToken as string;
        expect((await request(withJwt.url).post(`/graphql?jwt=${token}`).send({ query: me })).body).toEqual({
          data: { me: { username: 'admin' } },
        });
        const unset = await http.post(`/graphql?jwt=${token}`).send({ query: me });
        expect(unset.body.errors[0].extensions).toMatchObject({
          code: 'UNAUTHENTICATED',
          reason: 'credentials_missing',
        });
      } finally {
        await withJwt.stop();
      }
      await expect(
        startServer({
          DATABASE_URL: databaseUrl(database),
          TOKEN_QUERY_PARAMETER: 'not a name',
          HTTP_ADAPTER: adapter,
        }),
      ).rejects.toThrow(/TOKEN_QUERY_PARAMETER must be 1 to 64 letters/);
    });
  },
);
