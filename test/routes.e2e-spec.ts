import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import bcrypt from 'bcrypt';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AccessToken, AccessTokensModule, errors, TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { createAppOn, HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { replayRefreshRace, type SessionClient } from './fixtures/session-races.js';
import { Account, ACCOUNT_OPTIONS, basic, startPasswordApp, type PasswordApp } from './fixtures/password-app.js';
import { signedUnknownToken, TEST_SECRET } from './fixtures/secrets.js';

const PASSWORD = 'correct horse battery';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

/**
 * The ready-made routes of `forRoot({ routes })`, as a client sees them: on paths and with scopes
 * the app chose, next to another app with the defaults in the same process, each route's success,
 * its refusals (403 for a missing scope, 400 for bad input that changes nothing, 404 for a token
 * not the caller's), and nothing at all where no routes were asked for.
 */
describe.each(HTTP_ADAPTERS)(`the ready-made routes on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  /** Routes at api/keys and api/session, scopes keys:read and keys:write, under global guards and a global ValidationPipe. */
  let custom: PasswordApp;
  /** `routes: true`: tokens and auth, tokens:read and tokens:write, no guard or pipe of the app's. */
  let plain: PasswordApp;
  /** No routes. */
  let none: PasswordApp;
  /** `routes: { password: false }`, and `exceptionFilter: false`. */
  let tokenOnly: PasswordApp;
  let api: ReturnType<typeof request>;
  let ann: number;
  /** A token of ann's with every scope she has. */
  let annToken: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const shared = { adapter, database: database.options };
    custom = await startPasswordApp({
      ...shared,
      globalGuards: true,
      globalPipe: true,
      // Two a minute: a password checked twice per request (by the global guard and the routes') would show.
      options: { passwords: { throttle: { perAccount: 2 } } },
      extras: {
        routes: {
          path: '/api/keys/',
          sessionsPath: 'api/session',
          scopes: { read: 'keys:read', write: 'keys:write' },
          presentUser: (user) => ({ email: (user as Account).email }),
        },
      },
    });
    plain = await startPasswordApp({ ...shared, options: { clock: custom.clock }, extras: { routes: true } });
    none = await startPasswordApp({ ...shared, options: { clock: custom.clock } });
    tokenOnly = await startPasswordApp({
      ...shared,
      options: { clock: custom.clock },
      extras: { routes: { password: false }, exceptionFilter: false },
    });
    api = request(custom.app.getHttpServer());
    ann = await custom.addAccount('ann@example.com', PASSWORD);
    annToken = (await custom.app.get(TokensService).issue(ann, { name: 'ann, everything' })).token;
  });

  afterAll(async () => {
    for (const started of [custom, plain, none, tokenOnly]) await started?.app.close();
    await database?.drop();
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  /** A token of `user` (ann unless told) with these scopes, issued directly. */
  const tokenWith = async (scopes: string[], user = ann) =>
    (await custom.app.get(TokensService).issue(user, { name: scopes.join(' '), scopes })).token;
  /** A new window for the password throttling. */
  const nextMinute = () => custom.clock.advance(61);

  /** Accounts and tokens as the database holds them, less what each use records: when, from where, with what scopes. */
  async function snapshot(): Promise<unknown> {
    const accounts = await custom.dataSource.getRepository(Account).find({ order: { id: 'ASC' } });
    const tokens = await custom.dataSource.getRepository(AccessToken).find({ order: { id: 'ASC' } });
    return {
      accounts,
      tokens: tokens.map(
        ({
          lastUsedAt: _lastUsedAt,
          lastUsedIp: _lastUsedIp,
          lastUsedUserAgent: _lastUsedUserAgent,
          scopesUsed: _scopesUsed,
          ...token
        }) => token,
      ),
    };
  }

  /** Sends `send()` and checks it is a 400 naming `field` that changed nothing. */
  async function refusedAsBadInput(
    send: () => PromiseLike<{ status: number; body: { message?: unknown } }>,
    field: string,
  ): Promise<void> {
    const before = await snapshot();
    const response = await send();
    expect({ status: response.status, names: JSON.stringify(response.body.message).includes(field) }).toEqual({
      status: 400,
      names: true,
    });
    expect(await snapshot()).toEqual(before);
  }

  describe('where they are', () => {
    it('mounts nothing unless asked', async () => {
      const http = request(none.app.getHttpServer());
      for (const [method, path] of [
        ['post', '/tokens/generate'],
        ['get', '/tokens'],
        ['post', '/tokens/revoke'],
        ['post', '/auth/login'],
        ['post', '/auth/refresh'],
      ] as const) {
        await http[method](path).set('Authorization', basic('ann@example.com', PASSWORD)).expect(404);
      }
    });

    it("mounts each app's routes at its own paths only, with its own scopes", async () => {
      nextMinute();
      await api.post('/tokens/generate').set('Authorization', basic('ann@example.com', PASSWORD)).expect(404);
      await request(plain.app.getHttpServer())
        .post('/api/keys/generate')
        .set('Authorization', basic('ann@example.com', PASSWORD))
        .expect(404);
      await api.post('/api/keys/generate').set('Authorization', basic('ann@example.com', PASSWORD)).expect(201);
      await request(plain.app.getHttpServer())
        .post('/tokens/generate')
        .set('Authorization', basic('ann@example.com', PASSWORD))
        .expect(201);
      // One token, two apps on one database: each app asks for the scope it was told to.
      const reader = await tokenWith(['tokens:read']);
      await request(plain.app.getHttpServer()).get('/tokens').set(bearer(reader)).expect(200);
      const refused = await api.get('/api/keys').set(bearer(reader)).expect(403);
      expect(refused.headers['www-authenticate']).toContain('scope="keys:read"');
    });
  });

  describe('POST {path}/generate', () => {
    it('issues a token for a user name and password', async () => {
      nextMinute();
      const response = await api
        .post('/api/keys/generate')
        .set('Authorization', basic('ann@example.com', PASSWORD))
        .expect(201);
      expect(response.body).toEqual({
        token: expect.stringMatching(/^nat_[0-9A-Za-z]{83}$/),
        expires: new Date(custom.clock.now().getTime() + 30 * 24 * 3600 * 1000).toISOString(),
        id: expect.any(String),
        name: `Generated on ${custom.clock.now().toISOString().slice(0, 10)}`,
        scopes: ['*'],
      });
      await api.get('/me').set(bearer(response.body.token)).expect(200, { id: ann, email: 'ann@example.com' });
    });

    it("grants the name and scopes a password client asked for, under the app's global ValidationPipe", async () => {
      nextMinute();
      const response = await api
        .post('/api/keys/generate')
        .set('Authorization', basic('ann@example.com', PASSWORD))
        .send({ name: 'laptop', scopes: ['keys:read'] })
        .expect(201);
      expect(response.body).toMatchObject({ name: 'laptop', scopes: ['keys:read'] });
      await api.post('/api/keys').set(bearer(response.body.token)).send({ name: 'wider' }).expect(403);
    });

    it('issues a token for a token, within its scopes', async () => {
      const narrow = await tokenWith(['keys:read']);
      const child = await api
        .post('/api/keys/generate')
        .set(bearer(narrow))
        .send({ name: 'child', expiresIn: 60 })
        .expect(201);
      expect(child.body).toMatchObject({ name: 'child', scopes: ['keys:read'] });
      const wider = await api
        .post('/api/keys/generate')
        .set(bearer(narrow))
        .send({ scopes: ['keys:write'] })
        .expect(400);
      expect(wider.body).toMatchObject({ error: 'invalid_scope' });
    });

    it('counts a password once under a global guard, and refuses past the limit', async () => {
      nextMinute();
      await api.post('/api/keys/generate').set('Authorization', basic('ann@example.com', PASSWORD)).expect(201);
      await api.post('/api/keys/generate').set('Authorization', basic('ann@example.com', PASSWORD)).expect(201);
      const throttled = await api
        .post('/api/keys/generate')
        .set('Authorization', basic('ann@example.com', PASSWORD))
        .expect(429);
      expect(throttled.headers['retry-after']).toBe('60');
      // Another app in the process keeps counts of its own.
      await request(plain.app.getHttpServer())
        .post('/tokens/generate')
        .set('Authorization', basic('ann@example.com', PASSWORD))
        .expect(201);
    });

    it('refuses no credentials offering both schemes, and a wrong password with a Basic challenge', async () => {
      nextMinute();
      expect((await api.post('/api/keys/generate').expect(401)).headers['www-authenticate']).toBe(
        'Basic realm="api", Bearer realm="api"',
      );
      const wrong = await api
        .post('/api/keys/generate')
        .set('Authorization', basic('ann@example.com', 'wrong'))
        .expect(401);
      expect(wrong.body).toMatchObject({ error: 'invalid_credentials' });
    });

    it.each([
      [{ name: '' }, 'name'],
      [{ scopes: 'keys:read' }, 'scopes'],
      [{ scopes: ['a\u0000b'] }, 'scopes'],
      [{ expiresIn: 0 }, 'expiresIn'],
      [{ expiresIn: 'soon' }, 'expiresIn'],
      [{ admin: true }, 'admin'],
    ])('refuses %j with 400 and changes nothing', async (body, field) => {
      await refusedAsBadInput(() => api.post('/api/keys/generate').set(bearer(annToken)).send(body), field);
    });

    it('takes no password with routes.password: false, and has no login route', async () => {
      const http = request(tokenOnly.app.getHttpServer());
      const refused = await http
        .post('/tokens/generate')
        .set('Authorization', basic('ann@example.com', PASSWORD))
        .expect(400);
      expect(refused.body.message).toContain('empty password');
      expect((await http.post('/tokens/generate').expect(401)).headers['www-authenticate']).toBe('Bearer realm="api"');
      await http.post('/tokens/generate').set(bearer(annToken)).expect(201);
      // The module's errors answered as 4xx on its routes, without its app-wide filter too.
      const narrow = await tokenWith(['reports:read']);
      expect(
        (
          await http
            .post('/tokens/generate')
            .set(bearer(narrow))
            .send({ scopes: ['keys:read'] })
            .expect(400)
        ).body,
      ).toMatchObject({ error: 'invalid_scope' });
      await http.delete(`/tokens/${UNKNOWN_ID}`).set(bearer(annToken)).expect(404);
      await http.post('/auth/login').send({ username: 'ann@example.com', password: PASSWORD }).expect(404);
      await http.post('/auth/refresh').send({ refreshToken: 'nat_r_x' }).expect(401);
    });
  });

  describe('GET {path}', () => {
    let pager: number;
    let pagerToken: string;
    const ids: string[] = [];

    beforeAll(async () => {
      pager = await custom.addAccount('pager@example.com', PASSWORD);
      for (let i = 0; i < 4; i++) {
        ids.push((await custom.app.get(TokensService).issue(pager, { name: `t${i}` })).accessToken.id);
        custom.clock.advance(1);
      }
      pagerToken = (await custom.app.get(TokensService).issue(pager, { name: 'lister', scopes: ['keys:*'] })).token;
    });

    it("pages the caller's tokens, newest first, with a Link to the next page under the app's path", async () => {
      const seen: string[] = [];
      const links: string[] = [];
      let next: string | null = '/api/keys?limit=2';
      while (next) {
        const response: { body: { id: string }[]; headers: Record<string, string | undefined> } = await api
          .get(next)
          .set(bearer(pagerToken))
          .expect(200);
        seen.push(...response.body.map((view) => view.id));
        next = /^<([^>]+)>; rel="next"$/.exec(response.headers.link ?? '')?.[1] ?? null;
        if (next) links.push(next);
      }
      expect(seen.slice(1)).toEqual([...ids].reverse());
      expect(links).toHaveLength(2);
      for (const link of links) expect(link).toMatch(/^\/api\/keys\?limit=2&cursor=[A-Za-z0-9_-]+$/);
    });

    it('lists only live tokens when asked', async () => {
      await custom.app.get(TokensService).revoke(pager, ids[0]!);
      const live = await api.get('/api/keys?status=live').set(bearer(pagerToken)).expect(200);
      expect(live.body.map((view: { id: string }) => view.id)).not.toContain(ids[0]);
      expect(live.headers.link).toBeUndefined();
    });

    it('needs the read scope', async () => {
      const refused = await api
        .get('/api/keys')
        .set(bearer(await tokenWith(['keys:write'])))
        .expect(403);
      expect(refused.body).toMatchObject({ statusCode: 403, error: 'insufficient_scope' });
    });

    it.each(['limit=0', 'limit=101', 'limit=abc', 'status=dead', 'cursor=bm90IGEgY3Vyc29y', 'cursor=%00', 'page=2'])(
      'answers ?%s with 400',
      async (query) => {
        const before = await snapshot();
        await api.get(`/api/keys?${query}`).set(bearer(pagerToken)).expect(400);
        expect(await snapshot()).toEqual(before);
      },
    );
  });

  describe('POST {path}, PATCH {path}/:id, POST {path}/:id/rotate, DELETE {path}/:id, DELETE {path}', () => {
    it("creates a named token within the caller's scopes", async () => {
      const response = await api
        .post('/api/keys')
        .set(bearer(annToken))
        .send({ name: 'deploy', scopes: ['reports:read'] })
        .expect(201);
      expect(response.body).toMatchObject({
        token: expect.stringMatching(/^nat_/),
        name: 'deploy',
        scopes: ['reports:read'],
        kind: 'personal',
        revokedAt: null,
      });
      expect(Object.keys(response.body).sort()).toEqual([
        'allowedIps',
        'canary',
        'createdAt',
        'createdBy',
        'enabled',
        'expiresAt',
        'hint',
        'id',
        'kind',
        'lastUsedAt',
        'lastUsedIp',
        'lastUsedUserAgent',
        'maxUses',
        'metadata',
        'name',
        'rateLimit',
        'revokedAt',
        'revokedReason',
        'scopes',
        'scopesUsedAt',
        'sessionId',
        'token',
        'unusedScopes',
        'usesLeft',
        'usesPeriod',
        'usesRenewAt',
      ]);
    });

    it('renames a token', async () => {
      const { id } = (await api.post('/api/keys').set(bearer(annToken)).send({ name: 'old' }).expect(201)).body;
      const renamed = await api.patch(`/api/keys/${id}`).set(bearer(annToken)).send({ name: 'new' }).expect(200);
      expect(renamed.body).toMatchObject({ id, name: 'new' });
    });

    it('rotates a token, the old one working for graceSeconds', async () => {
      const created = (
        await api
          .post('/api/keys')
          .set(bearer(annToken))
          .send({ name: 'ci', scopes: ['reports:read'] })
          .expect(201)
      ).body;
      const rotated = await api
        .post(`/api/keys/${created.id}/rotate`)
        .set(bearer(annToken))
        .send({ graceSeconds: 30 })
        .expect(201);
      expect(rotated.body).toMatchObject({
        name: 'ci',
        scopes: ['reports:read'],
        token: expect.stringMatching(/^nat_/),
      });
      custom.clock.advance(29);
      await api.get('/me').set(bearer(created.token)).expect(200);
      custom.clock.advance(1);
      expect((await api.get('/me').set(bearer(created.token)).expect(401)).body).toMatchObject({
        reason: 'revoked',
        revokedReason: 'rotated',
      });
      await api.get('/me').set(bearer(rotated.body.token)).expect(200);
      await api.post(`/api/keys/${created.id}/rotate`).set(bearer(annToken)).expect(409);
    });

    it("revokes one token, then all of the caller's", async () => {
      const created = (await api.post('/api/keys').set(bearer(annToken)).send({ name: 'short-lived' }).expect(201))
        .body;
      await api.delete(`/api/keys/${created.id}`).set(bearer(annToken)).expect(204);
      expect((await api.get('/me').set(bearer(created.token)).expect(401)).body).toMatchObject({
        revokedReason: 'revoked_by_user',
      });
      const cy = await custom.addAccount('cy@example.com', PASSWORD);
      const [first, second] = [await tokenWith(['keys:write'], cy), await tokenWith(['reports:read'], cy)];
      await api.delete('/api/keys').set(bearer(first)).expect(204);
      await api.get('/me').set(bearer(second)).expect(401);
      await api.get('/me').set(bearer(annToken)).expect(200);
    });

    it.each([
      ['post', '/api/keys', { name: 'x' }],
      ['patch', '/api/keys/:id', { name: 'x' }],
      ['post', '/api/keys/:id/rotate', {}],
      ['delete', '/api/keys/:id', undefined],
      ['delete', '/api/keys', undefined],
    ] as const)('%s %s needs the write scope', async (method, path, body) => {
      const { id } = (await api.post('/api/keys').set(bearer(annToken)).send({ name: 'target' }).expect(201)).body;
      const before = await snapshot();
      const call = api[method](path.replace(':id', id)).set(bearer(await tokenWith(['keys:read'])));
      const refused = await (body === undefined ? call : call.send(body)).expect(403);
      expect(refused.body).toMatchObject({ error: 'insufficient_scope' });
      expect(refused.headers['www-authenticate']).toContain('scope="keys:write"');
      const after = (await snapshot()) as { tokens: unknown[] };
      // Only the reader's own token was added.
      expect(after.tokens).toHaveLength((before as { tokens: unknown[] }).tokens.length + 1);
    });

    it.each([
      ['post', '/api/keys', {}, 'name'],
      ['post', '/api/keys', { name: 'x'.repeat(101) }, 'name'],
      ['post', '/api/keys', { name: 'x', expiresIn: null, extra: 1 }, 'extra'],
      ['patch', '/api/keys/:id', { name: '' }, 'name'],
      ['patch', '/api/keys/:id', { name: null }, 'name'],
      ['post', '/api/keys/:id/rotate', { graceSeconds: -1 }, 'graceSeconds'],
      ['post', '/api/keys/:id/rotate', { graceSeconds: '30' }, 'graceSeconds'],
    ] as const)('%s %s with %j is a 400 that changes nothing', async (method, path, body, field) => {
      const { id } = (await api.post('/api/keys').set(bearer(annToken)).send({ name: 'target' }).expect(201)).body;
      await refusedAsBadInput(() => api[method](path.replace(':id', id)).set(bearer(annToken)).send(body), field);
    });

    it.each([
      ['patch', ':id', { name: 'x' }],
      ['post', ':id/rotate', {}],
      ['delete', ':id', undefined],
    ] as const)(
      "%s {path}/%s answers 404 for a token that is not the caller's, or no token at all",
      async (method, suffix, body) => {
        const other = await custom.addAccount(`other-${method}-${suffix.length}@example.com`, PASSWORD);
        const { accessToken } = await custom.app.get(TokensService).issue(other, { name: "not ann's" });
        for (const id of [accessToken.id, UNKNOWN_ID, 'not-a-token-id']) {
          const before = await snapshot();
          const call = api[method](`/api/keys/${suffix.replace(':id', id)}`).set(bearer(annToken));
          await (body === undefined ? call : call.send(body)).expect(404);
          expect(await snapshot()).toEqual(before);
        }
      },
    );
  });

  describe("a token's usage policy through POST {path} and PATCH {path}/:id", () => {
    /** What the list and the answers show of a token's policy. */
    const policyOf = (view: Record<string, unknown>) => ({
      enabled: view.enabled,
      rateLimit: view.rateLimit,
      maxUses: view.maxUses,
      usesLeft: view.usesLeft,
      usesPeriod: view.usesPeriod,
      usesRenewAt: view.usesRenewAt,
      allowedIps: view.allowedIps,
    });
    /** ann's token `id` as `GET {path}` lists it. */
    const listed = async (id: string): Promise<Record<string, unknown>> => {
      const list = await api.get('/api/keys?limit=100').set(bearer(annToken)).expect(200);
      const view = (list.body as Record<string, unknown>[]).find((entry) => entry.id === id);
      expect(view).toBeDefined();
      return view!;
    };
    /** A token created through the route with `policy`: its raw value and id. */
    const created = async (policy: object): Promise<{ token: string; id: string }> =>
      (
        await api
          .post('/api/keys')
          .set(bearer(annToken))
          .send({ name: 'limited', ...policy })
          .expect(201)
      ).body;

    it('issues a token with a rate limit, a quota restored each period and allowed addresses, which the list shows', async () => {
      const response = await api
        .post('/api/keys')
        .set(bearer(annToken))
        .send({
          name: 'metered',
          rateLimit: { limit: 100, window: 60 },
          maxUses: 1000,
          usesPeriod: 86_400,
          allowedIps: ['203.0.113.0/24', '2001:DB8::/32', '::ffff:198.51.100.7'],
        })
        .expect(201);
      const expected = {
        enabled: true,
        rateLimit: { limit: 100, window: 60 },
        maxUses: 1000,
        usesLeft: 1000,
        usesPeriod: 86_400,
        usesRenewAt: expect.any(String),
        // As stored: lower case, an IPv4-mapped address as IPv4.
        allowedIps: ['203.0.113.0/24', '2001:db8::/32', '198.51.100.7'],
      };
      expect(policyOf(response.body)).toEqual(expected);
      expect(policyOf(await listed(response.body.id))).toEqual(expected);
    });

    it('issues a token without a policy as one with none', async () => {
      const { id } = await created({});
      expect(policyOf(await listed(id))).toEqual({
        enabled: true,
        rateLimit: null,
        maxUses: null,
        usesLeft: null,
        usesPeriod: null,
        usesRenewAt: null,
        allowedIps: null,
      });
    });

    it('pauses a token with enabled: false, which is then refused as paused, and resumes it with enabled: true', async () => {
      const { token, id } = await created({});
      await api.get('/me').set(bearer(token)).expect(200);
      const paused = await api.patch(`/api/keys/${id}`).set(bearer(annToken)).send({ enabled: false }).expect(200);
      expect(paused.body).toMatchObject({ id, enabled: false });
      const refused = await api.get('/me').set(bearer(token)).expect(401);
      expect(refused.body).toMatchObject({ error: 'invalid_token', reason: 'paused' });
      expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
      expect((await listed(id)).enabled).toBe(false);
      await api.patch(`/api/keys/${id}`).set(bearer(annToken)).send({ enabled: true }).expect(200);
      await api.get('/me').set(bearer(token)).expect(200);
      expect((await listed(id)).enabled).toBe(true);
    });

    it('changes a policy, leaving the parts the body does not name, and lifts one with null', async () => {
      const { id } = await created({ rateLimit: { limit: 5, window: 10 }, maxUses: 10, allowedIps: ['10.0.0.0/8'] });
      const changed = await api
        .patch(`/api/keys/${id}`)
        .set(bearer(annToken))
        .send({ rateLimit: { limit: 50, window: 3600 }, maxUses: null, allowedIps: ['192.0.2.1'] })
        .expect(200);
      const expected = {
        enabled: true,
        rateLimit: { limit: 50, window: 3600 },
        maxUses: null,
        usesLeft: null,
        usesPeriod: null,
        usesRenewAt: null,
        allowedIps: ['192.0.2.1'],
      };
      expect(policyOf(changed.body)).toEqual(expected);
      expect(policyOf(await listed(id))).toEqual(expected);
      await api.patch(`/api/keys/${id}`).set(bearer(annToken)).send({ name: 'renamed only' }).expect(200);
      expect(await listed(id)).toMatchObject({ name: 'renamed only', ...expected });
      await api.patch(`/api/keys/${id}`).set(bearer(annToken)).send({ rateLimit: null, allowedIps: null }).expect(200);
      expect(policyOf(await listed(id))).toMatchObject({ rateLimit: null, allowedIps: null });
    });

    it.each([
      [{ rateLimit: { limit: 0, window: 60 } }, 'rateLimit.limit'],
      [{ rateLimit: { limit: 10, window: 0 } }, 'rateLimit.window'],
      [{ rateLimit: { limit: 'x', window: 60 } }, 'rateLimit.limit'],
      [{ rateLimit: { limit: 10 } }, 'rateLimit.window'],
      [{ rateLimit: { limit: 10, window: 60, burst: 5 } }, 'burst'],
      [{ rateLimit: 10 }, 'rateLimit'],
      [{ maxUses: 0 }, 'maxUses'],
      [{ maxUses: 1.5 }, 'maxUses'],
      // The token has maxUses: 3, which the body takes away.
      [{ maxUses: null, usesPeriod: 3600 }, 'usesPeriod needs maxUses'],
      [{ allowedIps: ['10.0.0.256'] }, '10.0.0.256'],
      [{ allowedIps: ['10.0.0.0/33'] }, '10.0.0.0/33'],
      [{ allowedIps: '10.0.0.1' }, 'allowedIps'],
      [{ allowedIps: [] }, 'allowedIps'],
      [{ enabled: 'false' }, 'enabled'],
      [{ enabled: null }, 'enabled'],
    ])('refuses PATCH {path}/:id with %j as a 400 naming %s, the token unchanged', async (body, named) => {
      const { id } = await created({ rateLimit: { limit: 7, window: 70 }, maxUses: 3 });
      const before = await listed(id);
      await refusedAsBadInput(() => api.patch(`/api/keys/${id}`).set(bearer(annToken)).send(body), named);
      expect(await listed(id)).toEqual(before);
    });

    it.each([
      [{ rateLimit: { limit: 0, window: 60 } }, 'rateLimit.limit'],
      [{ rateLimit: { limit: '2', window: 60 } }, 'rateLimit.limit'],
      [{ maxUses: 0 }, 'maxUses'],
      [{ usesPeriod: 60 }, 'usesPeriod needs maxUses'],
      [{ allowedIps: ['not an address'] }, 'not an address'],
      [{ allowedIps: { 0: '10.0.0.1' } }, 'allowedIps'],
    ])('refuses POST {path} with %j as a 400 naming %s, issuing nothing', async (body, named) => {
      await refusedAsBadInput(
        () =>
          api
            .post('/api/keys')
            .set(bearer(annToken))
            .send({ name: 'refused', ...body }),
        named,
      );
    });

    it('refuses a token used from an address it does not allow with 403 ip_not_allowed, and allows it from one it does', async () => {
      const elsewhere = await created({ allowedIps: ['203.0.113.0/24'] });
      const refused = await api.get('/me').set(bearer(elsewhere.token)).expect(403);
      expect(refused.body).toMatchObject({ reason: 'ip_not_allowed' });
      // supertest connects over the loopback, as IPv4 (which Express reports IPv4-mapped) or IPv6.
      const here = await created({ allowedIps: ['127.0.0.0/8', '::1'] });
      await api.get('/me').set(bearer(here.token)).expect(200);
    });

    it('refuses the third use of a token with maxUses: 2 as 403 uses_exhausted, counting down usesLeft', async () => {
      const { token, id } = await created({ maxUses: 2 });
      await api.get('/me').set(bearer(token)).expect(200);
      expect((await listed(id)).usesLeft).toBe(1);
      await api.get('/me').set(bearer(token)).expect(200);
      const refused = await api.get('/me').set(bearer(token)).expect(403);
      expect(refused.body).toMatchObject({ reason: 'uses_exhausted' });
      expect(refused.headers['retry-after']).toBeUndefined();
      expect((await listed(id)).usesLeft).toBe(0);
      // More uses, given through the route, work at once.
      await api.patch(`/api/keys/${id}`).set(bearer(annToken)).send({ maxUses: 5 }).expect(200);
      await api.get('/me').set(bearer(token)).expect(200);
    });

    it('refuses a token whose uses come back each period with 429 and Retry-After until they do', async () => {
      const { token } = await created({ maxUses: 1, usesPeriod: 600 });
      await api.get('/me').set(bearer(token)).expect(200);
      const refused = await api.get('/me').set(bearer(token)).expect(429);
      expect(refused.body).toMatchObject({ reason: 'uses_exhausted' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(600);
      custom.clock.advance(601);
      await api.get('/me').set(bearer(token)).expect(200);
    });

    it('answers a rate-limited token with the RateLimit headers, and its third request in the window with 429', async () => {
      const { token } = await created({ rateLimit: { limit: 2, window: 60 } });
      const first = await api.get('/me').set(bearer(token)).expect(200);
      const second = await api.get('/me').set(bearer(token)).expect(200);
      expect([first, second].map((response) => response.headers['ratelimit-policy'])).toEqual([
        '"token";q=2;w=60',
        '"token";q=2;w=60',
      ]);
      expect(first.headers.ratelimit).toBe('"token";r=1;t=60');
      expect(second.headers.ratelimit).toBe('"token";r=0;t=60');
      custom.clock.advance(15);
      const refused = await api.get('/me').set(bearer(token)).expect(429);
      expect(refused.body).toMatchObject({ reason: 'rate_limited' });
      expect(refused.headers['retry-after']).toBe('45');
      expect(refused.headers['ratelimit-policy']).toBe('"token";q=2;w=60');
      expect(refused.headers.ratelimit).toBe('"token";r=0;t=45');
      // A new window, a new count.
      custom.clock.advance(45);
      await api.get('/me').set(bearer(token)).expect(200);
    });

    it('sends no RateLimit headers for a token without a rate limit', async () => {
      const { token } = await created({});
      const response = await api.get('/me').set(bearer(token)).expect(200);
      expect(response.headers.ratelimit).toBeUndefined();
      expect(response.headers['ratelimit-policy']).toBeUndefined();
    });
  });

  describe('POST {path}/revoke', () => {
    it('revokes a leaked token without authentication, answering the same whatever the token', async () => {
      const leaked = await tokenWith(['reports:read']);
      const answers = await Promise.all(
        [leaked, leaked, signedUnknownToken('nat'), 'garbage'].map(
          async (token) => (await api.post('/api/keys/revoke').send({ token }).expect(200)).text,
        ),
      );
      expect(new Set(answers)).toEqual(
        new Set([JSON.stringify({ message: 'If this token was live, it is revoked now' })]),
      );
      expect((await api.get('/me').set(bearer(leaked)).expect(401)).body.revokedReason).toBe('revoked_by_secret');
    });

    it.each([[{}], [{ token: '' }], [{ token: 12 }], [{ token: 'a\u0000b' }], [{ token: 'x', extra: 1 }]])(
      'refuses %j with 400 and changes nothing',
      async (body) => {
        await refusedAsBadInput(() => api.post('/api/keys/revoke').send(body), Object.keys(body).at(-1) ?? 'token');
      },
    );
  });

  describe('POST {sessionsPath}/login, /refresh and /logout', () => {
    const login = () => api.post('/api/session/login').send({ username: 'ann@example.com', password: PASSWORD });

    it('logs in: a pair of tokens, and the user as the app presents it', async () => {
      nextMinute();
      const response = await login().expect(200);
      expect(response.body).toEqual({
        accessToken: expect.stringMatching(/^nat_s_/),
        refreshToken: expect.stringMatching(/^nat_r_/),
        expiresIn: 900,
        user: { email: 'ann@example.com' },
      });
      await api.get('/me').set(bearer(response.body.accessToken)).expect(200);
      nextMinute();
      const plainLogin = await request(plain.app.getHttpServer())
        .post('/auth/login')
        .send({ username: 'ann@example.com', password: PASSWORD })
        .expect(200);
      expect(plainLogin.body.user).toEqual({ id: ann, username: 'ann@example.com' });
    });

    it('refuses a wrong password and an unknown user alike', async () => {
      nextMinute();
      const wrong = await api
        .post('/api/session/login')
        .send({ username: 'ann@example.com', password: 'wrong' })
        .expect(401);
      const unknown = await api
        .post('/api/session/login')
        .send({ username: 'nobody@example.com', password: PASSWORD })
        .expect(401);
      expect(wrong.body).toEqual(unknown.body);
    });

    it('refreshes once: the used refresh token presented again ends the session', async () => {
      nextMinute();
      const first = (await login().expect(200)).body;
      const second = await api.post('/api/session/refresh').send({ refreshToken: first.refreshToken }).expect(200);
      expect(Object.keys(second.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken']);
      const replay = await api.post('/api/session/refresh').send({ refreshToken: first.refreshToken }).expect(401);
      expect(replay.body).toMatchObject({ reason: 'revoked', revokedReason: 'refresh_token_reused' });
      await api.get('/me').set(bearer(second.body.accessToken)).expect(401);
    });

    /** The session routes for ann, a minute later at each login (logins count against the account). */
    const sessions: SessionClient = {
      login: async () => {
        nextMinute();
        return (await login().expect(200)).body;
      },
      refresh: (refreshToken) => api.post('/api/session/refresh').send({ refreshToken }),
      logout: (accessToken) => api.post('/api/session/logout').set(bearer(accessToken)),
      whoAmI: (accessToken) => api.get('/me').set(bearer(accessToken)),
    };

    it('leaves no pair of a session working once its refresh token was refreshed twice at once (20 runs)', async () => {
      await replayRefreshRace(sessions, 20);
    });

    it('leaves no pair of a session working after two refreshes and a logout raced (20 runs)', async () => {
      await replayRefreshRace(sessions, 20, { withLogout: true });
    });

    it("logs out with the session's access token, and tells a personal token how to be revoked", async () => {
      nextMinute();
      const session = (await login().expect(200)).body;
      await api.post('/api/session/logout').set(bearer(session.accessToken)).expect(204);
      expect((await api.get('/me').set(bearer(session.accessToken)).expect(401)).body.revokedReason).toBe('logged_out');
      const personal = await api.post('/api/session/logout').set(bearer(annToken)).expect(400);
      expect(personal.body).toMatchObject({
        error: 'not_a_session',
        message: expect.stringContaining('DELETE /api/keys/:id'),
      });
      await api.post('/api/session/logout').expect(401);
    });

    it.each([
      ['login', { username: 'ann@example.com' }, 'password'],
      ['login', { username: 'ann@example.com', password: 12 }, 'password'],
      ['login', { username: 'a\u0000b', password: PASSWORD }, 'username'],
      ['login', { username: 'ann@example.com', password: PASSWORD, admin: true }, 'admin'],
      ['refresh', {}, 'refreshToken'],
      ['refresh', { refreshToken: null }, 'refreshToken'],
    ] as const)('POST {sessionsPath}/%s with %j is a 400 that changes nothing', async (route, body, field) => {
      nextMinute();
      await refusedAsBadInput(() => api.post(`/api/session/${route}`).send(body), field);
    });
  });
});

/** The example of the password grant and the ready-made routes in docs/routes.md, as it is written there. */
describe.each(HTTP_ADAPTERS)(
  `docs/routes.md's forRoot() with routes, on $server, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    let database: TestDatabase;
    let app: INestApplication;

    beforeAll(async () => {
      database = await createTestDatabase();
      const moduleRef = await Test.createTestingModule({
        imports: [
          TypeOrmModule.forRoot({ ...database.options, entities: [Account, AccessToken], synchronize: true }),
          AccessTokensModule.forRoot({
            user: { entity: Account, usernameField: 'email', passwordHashField: 'pwd', blockedField: 'suspended' },
            secret: TEST_SECRET,
            // Password attempts (HTTP Basic, the login route, PasswordGrantService): 5 a minute per account, 20 per client.
            passwords: { throttle: { perAccount: 5, perClient: 20, windowSeconds: 60 } },
            // POST /tokens/generate, GET /tokens, POST /tokens, ... and POST /auth/login, /auth/refresh, /auth/logout
            routes: { path: 'tokens', sessionsPath: 'auth', scopes: { read: 'tokens:read', write: 'tokens:write' } },
          }),
        ],
      }).compile();
      app = await createAppOn(moduleRef, adapter, { logger: false });
      await app
        .get(DataSource)
        .getRepository(Account)
        .save({ email: 'alice@example.com', pwd: await bcrypt.hash(PASSWORD, 10), suspended: false, grants: [] });
    });

    afterAll(async () => {
      await app?.close();
      await database?.drop();
    });

    it('gives a first token for a password, which then manages tokens, and throttles guesses', async () => {
      const http = request(app.getHttpServer());
      const { token } = (
        await http
          .post('/tokens/generate')
          .set('Authorization', basic('alice@example.com', PASSWORD))
          .send({ name: 'laptop' })
          .expect(201)
      ).body;
      const list = await http.get('/tokens').set('Authorization', `Bearer ${token}`).expect(200);
      expect(list.body.map((view: { name: string }) => view.name)).toEqual(['laptop']);
      await http.post('/auth/login').send({ username: 'alice@example.com', password: PASSWORD }).expect(200);
      for (let i = 0; i < 3; i++)
        await http.post('/auth/login').send({ username: 'alice@example.com', password: 'guess' }).expect(401);
      const throttled = await http
        .post('/tokens/generate')
        .set('Authorization', basic('alice@example.com', PASSWORD))
        .expect(429);
      expect(throttled.headers['retry-after']).toBe('60');
    });
  },
);

describe('the routes option', () => {
  it.each([
    [{ path: 'a b' }, /routes.path must be a path/],
    [{ sessionsPath: '' }, /routes.sessionsPath must be a path/],
    [{ scopes: { read: 'tokens read' } }, /routes.scopes.read must be a scope/],
    [{ scopes: { delete: 'x' } }, /unknown option routes.scopes.delete/],
    [{ prefix: 'api' }, /unknown option routes.prefix/],
    [{ password: 'yes' }, /routes.password must be true or false/],
  ])('stops the app where forRoot() is called, on %j', (routes, message) => {
    const call = () => AccessTokensModule.forRoot({ ...ACCOUNT_OPTIONS, routes: routes as never });
    expect(call).toThrow(errors.InvalidOptionsError);
    expect(call).toThrow(message);
  });
});
