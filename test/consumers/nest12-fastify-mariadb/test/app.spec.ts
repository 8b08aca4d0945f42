import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { getDataSourceToken, getRepositoryToken } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { AccessToken, AccessTokensHttpException, TokensService, type AccessTokenView } from 'nestjs-access-tokens';
import request from 'supertest';
import type { DataSource, Repository } from 'typeorm';
import { AppModule } from '../src/app.module.js';
import { configureApp } from '../src/configure.js';
import { hashPassword } from '../src/password.js';
import { User } from '../src/user.entity.js';

const PASSWORD = 'correct horse battery staple';
/** Keeps the e-mail addresses of this run apart from those of an earlier run on the same database. */
const RUN = randomBytes(4).toString('hex');

type Headers = Record<string, string>;
const bearer = (token: string): Headers => ({ authorization: `Bearer ${token}` });
const basic = (user: string, password: string): Headers => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

/** An app's own catch-all filter, written against Fastify's reply. */
@Catch()
class JsonErrorsFilter implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const status = error instanceof HttpException ? error.getStatus() : 500;
    const code = error instanceof AccessTokensHttpException ? error.code : undefined;
    void reply
      .status(status)
      .send({ app: 'errors', status, code, detail: error instanceof HttpException ? error.getResponse() : null });
  }
}

/** The app as main.ts starts it (with its global ValidationPipe), on Fastify; `filter`: an app-wide filter of its own. */
async function startApp(filter?: ExceptionFilter): Promise<NestFastifyApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = configureApp(
    moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false }),
  );
  if (filter) app.useGlobalFilters(filter);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

describe('an ES-module NestJS 12 app on Fastify and MariaDB', () => {
  let app: NestFastifyApplication;
  let tokens: TokensService;
  let users: Repository<User>;
  let seq = 0;

  beforeAll(async () => {
    app = await startApp();
    tokens = app.get(TokensService);
    users = app.get(getRepositoryToken(User));
  });

  afterAll(async () => {
    await app?.close();
  });

  /**
   * Through supertest against Fastify's HTTP server. (Not `app.inject()`: Fastify's light-my-request
   * requires `cookie` 2, an ES module, which Jest's VM modules cannot require on Node 20.)
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function call<Body = any>(
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    headers: Headers = {},
    payload?: object,
  ) {
    const http = request(app.getHttpServer());
    let test = method === 'GET' ? http.get(url) : method === 'POST' ? http.post(url) : http.delete(url);
    test = test.set(headers);
    const response = await (payload ? test.send(payload) : test);
    return {
      status: response.status,
      challenge: response.headers['www-authenticate'] as string | undefined,
      body: response.body as Body,
    };
  }

  /** A new user of its own for each test. */
  async function newUser(permissions = ['reports:read', 'reports:write']): Promise<User> {
    seq += 1;
    return users.save(
      users.create({
        email: `user${seq}.${RUN}@example.com`,
        pwd: await hashPassword(PASSWORD),
        disabled: false,
        permissions,
      }),
    );
  }

  it("runs its own migration and the module's, and they match the entities", async () => {
    const dataSource = app.get<DataSource>(getDataSourceToken());
    expect(dataSource.options.type).toBe('mariadb');
    const ran = (await dataSource.query('SELECT name FROM migrations ORDER BY timestamp')) as { name: string }[];
    expect(ran.map((m) => m.name)).toEqual([
      'CreateUsers1763700000000',
      'CreateAccessTokens1763800000000',
      'AddTokenUsagePolicy1765000000000',
      'AddTokenOwnersAndAudit1766000000000',
    ]);
    // What `typeorm migration:generate` would write next: nothing.
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('answers a public route without credentials', async () => {
    expect(await call('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('issues a token with TokensService and accepts it as Bearer and as the Basic user name', async () => {
    const user = await newUser();
    const { token, accessToken } = await tokens.issue(user.uuid, { name: 'laptop' });
    expect(token).toMatch(/^nat_[0-9A-Za-z]{83}$/);
    expect(accessToken).toMatchObject({ name: 'laptop', scopes: ['*'], kind: 'personal' });
    // @CurrentUser() and @CurrentToken() on a Fastify request; the scopes are capped by the permissions.
    const me = {
      uuid: user.uuid,
      email: user.email,
      tokenId: accessToken.id,
      scopes: ['reports:read', 'reports:write'],
    };
    expect(await call('GET', '/me', bearer(token))).toMatchObject({ status: 200, body: me });
    expect(await call('GET', '/me', basic(token, ''))).toMatchObject({ status: 200, body: me });
    expect(await call('GET', '/me', { authorization: `bearer ${token}` })).toMatchObject({ status: 200, body: me });
    // The use is recorded off the request path; list() waits for it.
    const listed = await tokens.list(user.uuid);
    expect(listed.map((t) => t.id)).toEqual([accessToken.id]);
    expect(listed[0]!.lastUsedAt).toBeInstanceOf(Date);
  });

  it("trades the e-mail and password for a token at the app's login route (bcrypt)", async () => {
    const user = await newUser();
    expect(await call('POST', '/login', {}, { email: user.email, password: 'wrong' })).toMatchObject({ status: 401 });
    const login = await call(
      'POST',
      '/login',
      {},
      { email: user.email, password: PASSWORD, name: 'cli', scopes: ['reports:read'] },
    );
    expect(login).toMatchObject({
      status: 201,
      body: { token: expect.stringMatching(/^nat_/), name: 'cli', scopes: ['reports:read'] },
    });
    expect(await call('GET', '/reports', bearer(login.body.token))).toMatchObject({ status: 200 });
  });

  it('creates a token for the current user at an app route, no broader than the token that asks', async () => {
    const user = await newUser();
    const { token } = await tokens.issue(user.uuid, { name: 'session', scopes: ['reports:read'] });
    const created = await call<AccessTokenView & { token: string }>('POST', '/tokens', bearer(token), {
      name: 'CI',
      expiresIn: 3600,
    });
    expect(created).toMatchObject({
      status: 201,
      body: { token: expect.stringMatching(/^nat_/), name: 'CI', scopes: ['reports:read'], hint: expect.any(String) },
    });
    const ci = created.body;
    // The expiry is signed into the token in whole seconds: createdAt + 3600 s, less its milliseconds.
    const lifetime = new Date(ci.expiresAt!).getTime() - new Date(ci.createdAt).getTime();
    expect(lifetime).toBeGreaterThan(3599_000);
    expect(lifetime).toBeLessThanOrEqual(3600_000);
    expect(await call('GET', '/me', bearer(ci.token))).toMatchObject({
      status: 200,
      body: { tokenId: ci.id, scopes: ['reports:read'] },
    });
    // The list shows hints, never the raw tokens.
    const list = await call<AccessTokenView[]>('GET', '/tokens', bearer(ci.token));
    expect(list.status).toBe(200);
    expect(list.body.map((t) => t.name).sort()).toEqual(['CI', 'session']);
    expect(JSON.stringify(list.body)).not.toContain(ci.token);
    // TokensService's own errors in the app's controller become 4xx answers on Fastify too.
    const broader = await call('POST', '/tokens', bearer(token), { name: 'more', scopes: ['reports:write'] });
    expect(broader).toMatchObject({ status: 400, body: { statusCode: 400, reason: 'invalid_scope' } });
    expect(broader.challenge).toBeUndefined();
  });

  it("applies a token's usage policy: rate limit, uses, allowed addresses and pause", async () => {
    const user = await newUser();
    const get = (token: string) => request(app.getHttpServer()).get('/me').set(bearer(token));
    const limited = await tokens.issue(user.uuid, { name: 'limited', rateLimit: { limit: 1, window: 60 } });
    const first = await get(limited.token);
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"token";q=1;w=60');
    const over = await get(limited.token);
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ reason: 'rate_limited' });
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.headers.ratelimit).toMatch(/^"token";r=0;t=\d+$/);
    const once = await tokens.issue(user.uuid, { name: 'once', maxUses: 1 });
    expect((await get(once.token)).status).toBe(200);
    expect(await get(once.token)).toMatchObject({ status: 403, body: { reason: 'uses_exhausted' } });
    const elsewhere = await tokens.issue(user.uuid, { name: 'elsewhere', allowedIps: ['192.0.2.0/24'] });
    expect(await get(elsewhere.token)).toMatchObject({ status: 403, body: { reason: 'ip_not_allowed' } });
    const paused = await tokens.issue(user.uuid, { name: 'paused' });
    await tokens.pause(user.uuid, paused.accessToken.id);
    expect(await get(paused.token)).toMatchObject({ status: 401, body: { reason: 'paused' } });
    await tokens.resume(user.uuid, paused.accessToken.id);
    expect((await get(paused.token)).status).toBe(200);
  });

  it('answers no credentials with 401 and a bare challenge', async () => {
    for (const headers of [{}, { authorization: 'Digest username="x"' }] as Headers[]) {
      const response = await call('GET', '/me', headers);
      expect(response.status).toBe(401);
      expect(response.challenge).toBe('Bearer realm="api"');
      expect(response.body).toMatchObject({
        statusCode: 401,
        reason: 'credentials_missing',
        message: expect.any(String),
      });
    }
  });

  it('answers a garbage token with 401 invalid_token, reason malformed', async () => {
    const response = await call('GET', '/me', bearer('nat_garbage'));
    expect(response.status).toBe(401);
    expect(response.challenge).toMatch(/^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/);
    expect(response.body).toMatchObject({
      statusCode: 401,
      error: 'invalid_token',
      reason: 'malformed',
      message: expect.any(String),
    });
  });

  it('answers a well-formed token the database does not know with 401 invalid_token, reason unknown', async () => {
    const user = await newUser();
    const { token, accessToken } = await tokens.issue(user.uuid, { name: 'from a reset database' });
    await app.get<Repository<AccessToken>>(getRepositoryToken(AccessToken)).delete(accessToken.id);
    const response = await call('GET', '/me', basic(token, ''));
    expect(response.status).toBe(401);
    expect(response.challenge).toContain('error="invalid_token"');
    expect(response.body).toMatchObject({ error: 'invalid_token', reason: 'unknown' });
  });

  it('answers a malformed Authorization header with 400 invalid_request', async () => {
    const user = await newUser();
    const { token } = await tokens.issue(user.uuid, { name: 'x' });
    for (const authorization of [
      'Bearer',
      'Bearer a b',
      'Basic !!!',
      'Basic ' + Buffer.from(`${token}:a password`).toString('base64'),
    ]) {
      const response = await call('GET', '/me', { authorization });
      expect(response.status).toBe(400);
      expect(response.challenge).toMatch(/^Bearer realm="api", error="invalid_request", error_description="[^"]+"$/);
      expect(response.body).toMatchObject({ statusCode: 400, error: 'invalid_request', reason: 'invalid_request' });
    }
  });

  it('applies @Scopes: 403 insufficient_scope naming the scopes, anyOf passing on either', async () => {
    const user = await newUser(['reports:*', 'profile:read']);
    const profile = await tokens.issue(user.uuid, { name: 'profile', scopes: ['profile:read'] });
    expect(await call('GET', '/me', bearer(profile.token))).toMatchObject({ status: 200 });
    const refused = await call('GET', '/reports', bearer(profile.token));
    expect(refused.status).toBe(403);
    expect(refused.challenge).toMatch(
      /^Bearer realm="api", error="insufficient_scope", error_description="[^"]+", scope="reports:read reports:admin"$/,
    );
    expect(refused.body).toMatchObject({ statusCode: 403, error: 'insufficient_scope', reason: 'insufficient_scope' });
    const write = await call('POST', '/reports', bearer(profile.token), { title: 'q3' });
    expect(write.status).toBe(403);
    expect(write.challenge).toContain('scope="reports:write"');

    for (const scope of ['reports:read', 'reports:admin', 'reports:*']) {
      const { token } = await tokens.issue(user.uuid, { name: scope, scopes: [scope] });
      expect(await call('GET', '/reports', bearer(token))).toMatchObject({
        status: 200,
        body: { owner: user.email, reports: ['2026-q1', '2026-q2'] },
      });
    }
    const writer = await tokens.issue(user.uuid, { name: 'writer', scopes: ['reports:write'] });
    expect(await call('POST', '/reports', bearer(writer.token), { title: 'q3' })).toMatchObject({
      status: 201,
      body: { title: 'q3' },
    });
  });

  it("caps a token by the user's permissions, at issue and at each request", async () => {
    const user = await newUser(['profile:read']);
    const { token } = await tokens.issue(user.uuid, { name: 'everything' });
    expect(await call('GET', '/reports', bearer(token))).toMatchObject({ status: 403 });
    await expect(tokens.issue(user.uuid, { name: 'too much', scopes: ['reports:read'] })).rejects.toMatchObject({
      code: 'invalid_scope',
    });
  });

  it("refuses a token revoked with TokensService.revoke, or at the app's route", async () => {
    const user = await newUser();
    const first = await tokens.issue(user.uuid, { name: 'to revoke' });
    const second = await tokens.issue(user.uuid, { name: 'revoked by route' });
    expect(await call('GET', '/me', bearer(first.token))).toMatchObject({ status: 200 });
    expect(await call('GET', '/me', bearer(second.token))).toMatchObject({ status: 200 });

    await tokens.revoke(user.uuid, first.accessToken.id);
    const response = await call('GET', '/me', bearer(first.token));
    expect(response.status).toBe(401);
    expect(response.challenge).toContain('error="invalid_token"');
    expect(response.body).toMatchObject({
      error: 'invalid_token',
      reason: 'revoked',
      revokedReason: 'revoked_by_user',
    });

    expect(await call('DELETE', `/tokens/${second.accessToken.id}`, bearer(second.token))).toMatchObject({
      status: 200,
      body: { id: second.accessToken.id, revokedAt: expect.any(String) },
    });
    expect(await call('GET', '/me', bearer(second.token))).toMatchObject({ status: 401, body: { reason: 'revoked' } });
  });

  it('answers revoking an unknown token with 404 token_not_found', async () => {
    const user = await newUser();
    const { token } = await tokens.issue(user.uuid, { name: 'x' });
    const other = await tokens.issue((await newUser()).uuid, { name: "someone else's" });
    expect(await call('DELETE', `/tokens/${other.accessToken.id}`, bearer(token))).toMatchObject({
      status: 404,
      body: { statusCode: 404, reason: 'token_not_found' },
    });
    expect(await call('GET', '/me', bearer(other.token))).toMatchObject({ status: 200 });
  });

  it("revokes all of a user's tokens with TokensService.revokeAll, and at the app's route", async () => {
    const user = await newUser();
    const issued = [await tokens.issue(user.uuid, { name: 'a' }), await tokens.issue(user.uuid, { name: 'b' })];
    const bystander = await newUser();
    const kept = await tokens.issue(bystander.uuid, { name: 'kept' });
    for (const { token } of issued) expect(await call('GET', '/me', bearer(token))).toMatchObject({ status: 200 });
    expect(await tokens.revokeAll(user.uuid)).toBe(2);
    for (const { token } of issued) {
      expect(await call('GET', '/me', bearer(token))).toMatchObject({
        status: 401,
        body: { reason: 'revoked', revokedReason: 'revoked_by_user' },
      });
    }
    expect(await call('GET', '/me', bearer(kept.token))).toMatchObject({ status: 200 });

    const again = await tokens.issue(bystander.uuid, { name: 'again' });
    expect(await call('POST', '/tokens/revoke-all', bearer(again.token))).toMatchObject({
      status: 200,
      body: { revoked: 2 },
    });
    for (const { token } of [kept, again])
      expect(await call('GET', '/me', bearer(token))).toMatchObject({ status: 401 });
  });

  it("revokes the user's tokens when the password changes through repository.save()", async () => {
    const user = await newUser();
    const first = await tokens.issue(user.uuid, { name: 'first' });
    const second = await tokens.issue(user.uuid, { name: 'second' });
    // Verified once, so the verification is cached: the change must reach the cache too.
    expect(await call('GET', '/me', bearer(first.token))).toMatchObject({ status: 200 });
    user.pwd = await hashPassword('a new password');
    await users.save(user);
    for (const { token } of [first, second]) {
      const response = await call('GET', '/me', bearer(token));
      expect(response.status).toBe(401);
      expect(response.challenge).toContain('error="invalid_token"');
      expect(response.body).toMatchObject({ reason: 'revoked', revokedReason: 'password_changed' });
    }
    const fresh = await tokens.issue(user.uuid, { name: 'after the change' });
    expect(await call('GET', '/me', bearer(fresh.token))).toMatchObject({ status: 200 });
  });

  it('refuses the tokens of a user disabled through repository.save()', async () => {
    const user = await newUser();
    const { token } = await tokens.issue(user.uuid, { name: 'x' });
    expect(await call('GET', '/me', bearer(token))).toMatchObject({ status: 200 });
    user.disabled = true;
    await users.save(user);
    const response = await call('GET', '/me', basic(token, ''));
    expect(response.status).toBe(401);
    expect(response.challenge).toContain('error="invalid_token"');
    // Revoked in the same transaction, answered as the user's block while it lasts.
    expect(response.body).toMatchObject({ reason: 'user_blocked' });
    // Enabling the user again does not bring the token back.
    user.disabled = false;
    await users.save(user);
    expect(await call('GET', '/me', bearer(token))).toMatchObject({
      status: 401,
      body: { reason: 'revoked', revokedReason: 'blocked' },
    });
  });
});

// After the first app, which ran the migrations: two apps starting at once on a fresh database would both run them.
describe('with an app-wide catch-all filter of its own (useGlobalFilters)', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await startApp(new JsonErrorsFilter());
  });

  afterAll(async () => {
    await app?.close();
  });

  it("still answers refusals with their status and challenge, the filter's body", async () => {
    const http = request(app.getHttpServer());
    const missing = await http.get('/me');
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(missing.body).toMatchObject({
      app: 'errors',
      status: 401,
      code: 'credentials_missing',
      detail: { reason: 'credentials_missing' },
    });

    const garbage = await http.get('/me').set(bearer('nat_garbage'));
    expect(garbage.status).toBe(401);
    expect(garbage.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(garbage.body).toMatchObject({ code: 'malformed', detail: { error: 'invalid_token', reason: 'malformed' } });

    const malformed = await http.get('/me').set('Authorization', 'Bearer');
    expect(malformed.status).toBe(400);
    expect(malformed.headers['www-authenticate']).toContain('error="invalid_request"');

    const users = app.get<Repository<User>>(getRepositoryToken(User));
    const user = await users.save(
      users.create({
        email: `filter.${RUN}@example.com`,
        pwd: await hashPassword(PASSWORD),
        disabled: false,
        permissions: ['profile:read'],
      }),
    );
    const { token } = await app.get(TokensService).issue(user.uuid, { name: 'x' });
    const scope = await http.get('/reports').set(bearer(token));
    expect(scope.status).toBe(403);
    expect(scope.headers['www-authenticate']).toContain('scope="reports:read reports:admin"');
    expect(scope.body).toMatchObject({ code: 'insufficient_scope' });
  });
});
