import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AccessToken } from 'nestjs-access-tokens';
import { User } from '../src/users/user.entity.js';
import { testDatabaseKind } from './fixtures/database.js';
import { basicAuth, startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';

const ADMIN = { username: 'root', password: 'admin password 1' };
const PASSWORD = 'correct horse battery';
/** A NUL, which PostgreSQL refuses in any text, and a lone surrogate, which has no UTF-8 form. */
const NUL = 'a\u0000b';
const LONE = 'pass\ud800word1';

interface Case {
  name: string;
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  auth: 'none' | 'admin' | 'alice' | { basic: [string, string] };
  body?: unknown;
  raw?: string;
}

/** Hostile values of a field, by the type of its valid value. */
function hostile(valid: unknown): unknown[] {
  if (typeof valid === 'number') return [NUL, null, -1, 1.5, 1e300, '60', { nested: true }];
  if (Array.isArray(valid)) return [[NUL], [LONE], [null], [12345], [['nested']], null, 'users:read'];
  return [NUL, LONE, null, 12345, true, { nested: true }, ['list']];
}

/** Each field of a valid body, in turn, given each hostile value. */
function fieldCases(method: Case['method'], path: string, auth: Case['auth'], valid: Record<string, unknown>): Case[] {
  return Object.entries(valid).flatMap(([field, value]) =>
    hostile(value).map((bad) => ({
      name: `${method.toUpperCase()} ${path} with ${field} = ${JSON.stringify(bad)}`,
      method,
      path,
      auth,
      body: { ...valid, [field]: bad },
    })),
  );
}

/** Bodies no route should parse: deeply nested, not JSON, too large. */
function bodyCases(method: Case['method'], path: string, auth: Case['auth']): Case[] {
  return [
    {
      name: `${method.toUpperCase()} ${path} with JSON nested 1,000 deep`,
      method,
      path,
      auth,
      raw: `${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}`,
    },
    {
      name: `${method.toUpperCase()} ${path} with a body that is not JSON`,
      method,
      path,
      auth,
      raw: '{"username": x}',
    },
    {
      name: `${method.toUpperCase()} ${path} with a 20 kB body`,
      method,
      path,
      auth,
      raw: JSON.stringify({ name: 'x'.repeat(20_000) }),
    },
  ];
}

describe.each(HTTP_ADAPTERS)(
  `bad input to every route of the demo on $server, on ${testDatabaseKind()}: a 4xx, and nothing changes`,
  ({ adapter }) => {
    let demo: DemoApp;
    let adminToken: string;
    let aliceToken: string;
    let aliceTokenId: string;
    const cases: Case[] = [];

    // The routes that take a body, each with valid values for its fields.
    const bodies: [Case['method'], string, Case['auth'], Record<string, unknown>][] = [
      ['post', '/users', 'none', { username: 'mallory', password: PASSWORD }],
      ['post', '/auth/login', 'none', { username: 'alice', password: PASSWORD }],
      ['post', '/auth/refresh', 'none', { refreshToken: 'nat_r_x' }],
      [
        'post',
        '/tokens/generate',
        { basic: ['alice', PASSWORD] },
        { name: 'n', scopes: ['users:read'], expiresIn: 60 },
      ],
      ['post', '/tokens', 'alice', { name: 'n', scopes: ['users:read'], expiresIn: 60 }],
      ['patch', '/tokens/:id', 'alice', { name: 'n' }],
      ['post', '/tokens/:id/rotate', 'alice', { graceSeconds: 0 }],
      ['post', '/tokens/revoke', 'none', { token: 'nat_x' }],
      ['patch', '/users/me', 'alice', { username: 'alice2', password: 'another password', currentPassword: PASSWORD }],
    ];
    for (const [method, path, auth, valid] of bodies) {
      cases.push(...fieldCases(method, path, auth, valid), ...bodyCases(method, path, auth));
    }
    cases.push(
      // Ids that cannot exist: out of the column's range, NUL, not a token id.
      ...['2147483648', '99999999999999999999', '0', '-1', '%00', '1.5', 'abc'].flatMap((id): Case[] => [
        { name: `GET /users/${id}`, method: 'get', path: `/users/${id}`, auth: 'admin' },
        { name: `POST /users/${id}/block`, method: 'post', path: `/users/${id}/block`, auth: 'admin' },
        { name: `POST /users/${id}/unblock`, method: 'post', path: `/users/${id}/unblock`, auth: 'admin' },
      ]),
      ...['%00', 'not-a-token-id', '00000000-0000-0000-0000-00000000000%00', 'x'.repeat(300)].flatMap((id): Case[] => [
        {
          name: `PATCH /tokens/${id.slice(0, 40)}`,
          method: 'patch',
          path: `/tokens/${id}`,
          auth: 'alice',
          body: { name: 'n' },
        },
        {
          name: `POST /tokens/${id.slice(0, 40)}/rotate`,
          method: 'post',
          path: `/tokens/${id}/rotate`,
          auth: 'alice',
          body: {},
        },
        { name: `DELETE /tokens/${id.slice(0, 40)}`, method: 'delete', path: `/tokens/${id}`, auth: 'alice' },
      ]),
      // Credentials with control characters, as the Basic user name or password.
      {
        name: 'Basic user name with a NUL on /tokens/generate',
        method: 'post',
        path: '/tokens/generate',
        auth: { basic: [NUL, PASSWORD] },
        body: {},
      },
      {
        name: 'Basic password with a NUL on /tokens/generate',
        method: 'post',
        path: '/tokens/generate',
        auth: { basic: ['alice', NUL] },
        body: {},
      },
      {
        name: 'Basic token name with a NUL on /users/me',
        method: 'get',
        path: '/users/me',
        auth: { basic: [NUL, ''] },
      },
      {
        name: 'POST /auth/logout with a body that is not JSON',
        method: 'post',
        path: '/auth/logout',
        auth: 'alice',
        raw: '{',
      },
    );

    beforeAll(async () => {
      demo = await startDemoApp({ admin: ADMIN, httpAdapter: adapter });
      await demo.http.post('/users').send({ username: 'alice', password: PASSWORD }).expect(201);
      adminToken = (
        await demo.http
          .post('/tokens/generate')
          .set('Authorization', basicAuth(ADMIN.username, ADMIN.password))
          .expect(201)
      ).body.token;
      const alice = await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', PASSWORD))
        .expect(201);
      aliceToken = alice.body.token;
      aliceTokenId = alice.body.id;
    });

    afterAll(async () => {
      await demo?.close();
    });

    /**
     * Users and tokens as the database holds them, less what a use of a token records (when, from
     * where, the scopes it exercised): the request that is refused may have used a token to get there.
     */
    async function snapshot(): Promise<unknown> {
      const users = await demo.dataSource.getRepository(User).find({ order: { id: 'ASC' } });
      const tokens = await demo.dataSource.getRepository(AccessToken).find({ order: { id: 'ASC' } });
      return {
        users,
        tokens: tokens.map(
          ({ lastUsedAt: _at, lastUsedIp: _ip, lastUsedUserAgent: _agent, scopesUsed: _scopes, ...token }) => token,
        ),
      };
    }

    function send(one: Case) {
      const path = one.path.replace(':id', aliceTokenId);
      let call = demo.http[one.method](path);
      if (one.auth === 'admin') call = call.set('Authorization', `Bearer ${adminToken}`);
      else if (one.auth === 'alice') call = call.set('Authorization', `Bearer ${aliceToken}`);
      else if (one.auth !== 'none') call = call.set('Authorization', basicAuth(...one.auth.basic));
      if (one.raw !== undefined) return call.set('Content-Type', 'application/json').send(one.raw);
      return one.body === undefined ? call : call.send(one.body as object);
    }

    it(`has a corpus of ${cases.length} requests over every route that reads input`, () => {
      expect(cases.length).toBeGreaterThan(150);
    });

    it.each(cases.map((one) => [one.name, one] as const))('%s', async (_name, one) => {
      const before = await snapshot();
      const response = await send(one);
      expect({ status: response.status, body: response.body }).toEqual({
        status: expect.any(Number),
        body: expect.anything(),
      });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      // A parser's message never echoes the body back.
      expect(JSON.stringify(response.body)).not.toContain('"a":{"a"');
      expect(await snapshot()).toEqual(before);
    });

    it.each([
      {
        name: 'a 20 kB body',
        raw: JSON.stringify({ username: 'x'.repeat(20_000), password: PASSWORD }),
        status: 413,
        message: 'request body larger than 16384 bytes',
      },
      {
        name: 'JSON nested 1,000 deep',
        raw: `${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}`,
        status: 400,
        message: 'JSON body nested deeper than 32 levels',
      },
      { name: 'a body that is not JSON', raw: '{"username": x}', status: 400, message: 'invalid JSON body' },
      { name: 'a JSON null', raw: 'null', status: 400, message: 'invalid JSON body' },
      { name: 'a JSON string', raw: '"mallory"', status: 400, message: 'invalid JSON body' },
    ])("answers $name with $status and a fixed message, never the parser's", async ({ raw, status, message }) => {
      const before = await snapshot();
      const response = await demo.http.post('/users').set('Content-Type', 'application/json').send(raw);
      expect({ status: response.status, body: response.body }).toEqual({
        status,
        body: { statusCode: status, error: status === 413 ? 'Payload Too Large' : 'Bad Request', message },
      });
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a body that is not JSON by its content type: 415 on Fastify, 400 on Express', async () => {
      const before = await snapshot();
      const response = await demo.http
        .post('/users')
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send(`username=mallory&password=${encodeURIComponent(PASSWORD)}`);
      // Fastify refuses a content type it has no parser for; Express leaves such a body unread, and
      // the route finds none of its fields. Both refuse, and neither reads the form.
      expect(response.status).toBe(adapter === 'fastify' ? 415 : 400);
      expect(await snapshot()).toEqual(before);
    });

    it("closes the connection after a header too large for the server, so that a keep-alive client's next request goes through", async () => {
      await demo.app.listen(0, '127.0.0.1');
      const { port } = demo.app.getHttpServer().address() as AddressInfo;
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const get = (headers: Record<string, string> = {}) =>
        new Promise<{ status: number; headers: IncomingHttpHeaders }>((resolve, reject) => {
          httpRequest({ host: '127.0.0.1', port, path: '/health', agent, headers }, (response) => {
            response.resume();
            response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers }));
          })
            .on('error', reject)
            .end();
        });
      try {
        for (let round = 0; round < 10; round++) {
          const refused = await get({ 'x-big': 'a'.repeat(100_000) });
          expect(refused.status).toBe(431);
          expect(refused.headers.connection).toBe('close');
          expect((await get()).status).toBe(200);
        }
      } finally {
        agent.destroy();
      }
    });

    it('answers without X-Powered-By, and still serves after all that', async () => {
      const response = await demo.http.get('/users/me').set('Authorization', `Bearer ${aliceToken}`).expect(200);
      expect(response.headers['x-powered-by']).toBeUndefined();
    });
  },
);
