import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Test } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import { AccessToken, errors, TokensService } from 'nestjs-access-tokens';
import { ManualClock } from 'nestjs-access-tokens/testing';
import request from 'supertest';
import type { Repository } from 'typeorm';
import { AppModule } from '../src/app.module.js';
import { configureApp } from '../src/configure.js';
import { hashPassword } from '../src/password.js';
import { User } from '../src/user.entity.js';

const PASSWORD = 'correct horse battery staple';
/** Keeps the e-mail addresses of this run apart from those of an earlier run on the same file. */
const RUN = randomBytes(4).toString('hex');

async function startApp(tokens: Parameters<typeof AppModule.forRoot>[0] = {}): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(tokens)] }).compile();
  const app = configureApp(moduleRef.createNestApplication({ logger: false }));
  await app.init();
  return app;
}

/** The error that stops the app from starting with `tokens` (closing it if it started after all). */
async function startError(tokens: Parameters<typeof AppModule.forRoot>[0]): Promise<unknown> {
  const started = await startApp(tokens).catch((error: unknown) => ({ error }));
  if ('error' in started) return started.error;
  await started.close();
  return undefined;
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

describe('an ES-module NestJS 12 app on Express and SQLite', () => {
  const clock = new ManualClock();
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let tokens: TokensService;
  let users: Repository<User>;
  let seq = 0;

  beforeAll(async () => {
    app = await startApp({ clock });
    http = request(app.getHttpServer());
    tokens = app.get(TokensService);
    users = app.get(getRepositoryToken(User));
  });

  afterAll(async () => {
    await app?.close();
  });

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

  it('answers a public route without credentials', async () => {
    await http.get('/health').expect(200, { status: 'ok' });
  });

  it('issues a token with TokensService and accepts it as Bearer and as the Basic user name', async () => {
    const user = await newUser();
    const { token, accessToken } = await tokens.issue(user.uuid, { name: 'laptop' });
    expect(token).toMatch(/^nat_[0-9A-Za-z]{83}$/);
    expect(accessToken).toMatchObject({ name: 'laptop', scopes: ['*'], kind: 'personal' });
    const me = { uuid: user.uuid, email: user.email, scopes: ['reports:read', 'reports:write'] };
    await http.get('/me').set(bearer(token)).expect(200, me);
    await http.get('/me').set(basic(token, '')).expect(200, me);
    expect((await tokens.list(user.uuid)).map((t) => t.id)).toEqual([accessToken.id]);
  });

  it("issues a token from the app's own login route, which checks the bcrypt hash", async () => {
    const user = await newUser();
    await http.post('/tokens').send({ email: user.email, password: 'wrong' }).expect(401);
    const login = await http
      .post('/tokens')
      .send({ email: user.email, password: PASSWORD, name: 'cli', scopes: ['reports:read'] })
      .expect(201);
    expect(login.body).toMatchObject({ token: expect.stringMatching(/^nat_/), scopes: ['reports:read'] });
    await http.get('/reports').set(bearer(login.body.token)).expect(200);
  });

  it('answers no credentials with 401 and a bare challenge', async () => {
    const response = await http.get('/me').expect(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="api"');
    expect(response.body).toMatchObject({ statusCode: 401, reason: 'credentials_missing' });
  });

  it('answers a garbage token with 401 invalid_token, reason malformed', async () => {
    const response = await http.get('/me').set(bearer('nat_garbage')).expect(401);
    expect(response.headers['www-authenticate']).toMatch(
      /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/,
    );
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
    const response = await http.get('/me').set(bearer(token)).expect(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(response.body).toMatchObject({ error: 'invalid_token', reason: 'unknown' });
  });

  it('answers a malformed Authorization header with 400 invalid_request', async () => {
    for (const header of ['Bearer', 'Bearer a b', 'Basic !!!']) {
      const response = await http.get('/me').set('Authorization', header).expect(400);
      expect(response.headers['www-authenticate']).toContain('Bearer realm="api", error="invalid_request"');
      expect(response.body).toMatchObject({ statusCode: 400, error: 'invalid_request' });
    }
  });

  it('applies @Scopes: 403 insufficient_scope naming the scope', async () => {
    const user = await newUser();
    const writer = await tokens.issue(user.uuid, { name: 'writer', scopes: ['reports:write'] });
    await http.get('/me').set(bearer(writer.token)).expect(200);
    const response = await http.get('/reports').set(bearer(writer.token)).expect(403);
    expect(response.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(response.headers['www-authenticate']).toContain('scope="reports:read"');
    expect(response.body).toMatchObject({ statusCode: 403, error: 'insufficient_scope' });
    const reader = await tokens.issue(user.uuid, { name: 'reader', scopes: ['reports:read'] });
    await http
      .get('/reports')
      .set(bearer(reader.token))
      .expect(200, { owner: user.email, reports: ['2026-q1', '2026-q2'] });
  });

  it("caps a token by the user's permissions", async () => {
    const user = await newUser(['profile:read']);
    const { token } = await tokens.issue(user.uuid, { name: 'everything' });
    await http.get('/reports').set(bearer(token)).expect(403);
    await expect(tokens.issue(user.uuid, { name: 'too much', scopes: ['reports:read'] })).rejects.toMatchObject({
      code: 'invalid_scope',
    });
  });

  it('refuses a token revoked with TokensService.revoke', async () => {
    const user = await newUser();
    const { token, accessToken } = await tokens.issue(user.uuid, { name: 'to revoke' });
    await http.get('/me').set(bearer(token)).expect(200);
    await tokens.revoke(user.uuid, accessToken.id);
    const response = await http.get('/me').set(bearer(token)).expect(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(response.body).toMatchObject({ reason: 'revoked' });
  });

  it("revokes the user's tokens when the password changes through repository.save()", async () => {
    const user = await newUser();
    const first = await tokens.issue(user.uuid, { name: 'first' });
    const second = await tokens.issue(user.uuid, { name: 'second' });
    await http.get('/me').set(bearer(first.token)).expect(200);
    user.pwd = await hashPassword('a new password');
    await users.save(user);
    for (const { token } of [first, second]) {
      const response = await http.get('/me').set(bearer(token)).expect(401);
      expect(response.body).toMatchObject({ reason: 'revoked', revokedReason: 'password_changed' });
    }
    const fresh = await tokens.issue(user.uuid, { name: 'after the change' });
    await http.get('/me').set(bearer(fresh.token)).expect(200);
  });

  it('refuses the tokens of a disabled user', async () => {
    const user = await newUser();
    const { token } = await tokens.issue(user.uuid, { name: 'x' });
    await users.save({ ...user, disabled: true });
    const response = await http.get('/me').set(bearer(token)).expect(401);
    // Revoked in the same transaction, answered as the user's block while it lasts.
    expect(response.body).toMatchObject({ reason: 'user_blocked' });
  });

  it('expires a token on the ManualClock', async () => {
    const user = await newUser();
    const { token, accessToken } = await tokens.issue(user.uuid, { name: 'one hour', expiresIn: 3600 });
    expect(accessToken.expiresAt).toEqual(new Date(clock.now().getTime() + 3600_000));
    clock.advance(3599);
    await http.get('/me').set(bearer(token)).expect(200);
    clock.advance(1);
    const response = await http.get('/me').set(bearer(token)).expect(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(response.body).toMatchObject({ reason: 'expired' });
  });

  it('stops start-up, naming the package to install, when a Redis bus is asked for without ioredis', async () => {
    const error = await startError({ cache: { bus: { type: 'redis', url: 'redis://127.0.0.1:6379' } } });
    expect(error).toBeInstanceOf(errors.InvalidOptionsError);
    expect((error as Error).message).toContain('npm install ioredis');
  });

  it('stops start-up without TOKEN_SECRET, saying how to make one', async () => {
    const secret = process.env.TOKEN_SECRET;
    delete process.env.TOKEN_SECRET;
    const error = await startError({}).finally(() => secret !== undefined && (process.env.TOKEN_SECRET = secret));
    expect(error).toBeInstanceOf(errors.InvalidOptionsError);
    expect((error as Error).message).toContain('openssl rand');
  });

  it('rotates the secret: tokens of a secret still listed work, those of a secret removed are malformed', async () => {
    const user = await newUser();
    const old = await tokens.issue(user.uuid, { name: 'signed with TOKEN_SECRET' });
    const next = randomBytes(32).toString('base64url');
    // 1. The new secret first, the old one still listed: the new one signs, both verify.
    const both = await startApp({ clock, secret: [next, process.env.TOKEN_SECRET] });
    const fresh = await both.get(TokensService).issue(user.uuid, { name: 'signed with the new secret' });
    await request(both.getHttpServer()).get('/me').set(bearer(old.token)).expect(200);
    await both.close();
    // 3. The old secret removed: its tokens are refused before any lookup.
    const only = await startApp({ clock, secret: next });
    try {
      const response = await request(only.getHttpServer()).get('/me').set(bearer(old.token)).expect(401);
      expect(response.body).toMatchObject({ error: 'invalid_token', reason: 'malformed' });
      await request(only.getHttpServer()).get('/me').set(bearer(fresh.token)).expect(200);
    } finally {
      await only.close();
    }
  });
});
