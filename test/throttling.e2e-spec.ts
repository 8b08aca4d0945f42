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
describe.each(HTTP_ADAPTERS)(`password throttling that cannot be sidestepped, on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
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
    for (const spelling of ['CAROL', 'càrol', 'carol ']) expect((await login(spelling, 'wrong password')).status).toBe(401);
    await login('carol', PASSWORD).expect(429);
  });

  it('signs in only the name as stored, not another spelling the collation matches', async () => {
    await login('DAVE', PASSWORD).expect(401);
    await login('dàve', PASSWORD).expect(401);
    await login('dave', PASSWORD).expect(200);
  });

  it('answers a blocked user\'s right password exactly as a wrong one', async () => {
    const admin = (await login(ADMIN.username, ADMIN.password).expect(200)).body;
    await http.post(`/users/${ids.get('erin')}/block`).set('Authorization', `Bearer ${admin.accessToken}`).expect(204);
    const right = await login('erin', PASSWORD);
    const wrong = await login('erin', 'wrong password');
    expect(right.status).toBe(401);
    expect({ body: right.body, challenge: right.headers['www-authenticate'] }).toEqual({ body: wrong.body, challenge: wrong.headers['www-authenticate'] });
    const basicRight = await http.post('/tokens/generate').set('Authorization', basic('erin', PASSWORD));
    const basicWrong = await http.post('/tokens/generate').set('Authorization', basic('frank', 'wrong password'));
    expect({ status: basicRight.status, body: basicRight.body }).toEqual({ status: 401, body: basicWrong.body });
  });
});

describe.each(HTTP_ADAPTERS)(`password throttling shared by two instances through Redis, on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
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
    for (const http of [a!, b!, a!]) await http.post('/auth/login').send({ username: 'gina', password: 'wrong password' }).expect(401);
    const throttled = await b!.post('/auth/login').send({ username: 'gina', password: PASSWORD }).expect(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    await a!.post('/auth/login').send({ username: 'gina', password: PASSWORD }).expect(429);
  });
});
