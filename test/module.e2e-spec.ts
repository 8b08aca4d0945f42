import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource, type Repository } from 'typeorm';
import { AccessTokensModule, type AccessTokensModuleOptions, errors, TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, FixtureAppModule, Member } from './fixtures/fixture-app.module.js';
import { revokeIfAny } from './fixtures/revoke-if-any.js';
import { createAppOn, HTTP_ADAPTERS, type HttpAdapterName } from './fixtures/http-adapters.js';
import { TEST_SECRET } from './fixtures/secrets.js';

async function start(
  database: TestDatabase,
  tokens?: Parameters<typeof FixtureAppModule.forRoot>[1],
  adapter: HttpAdapterName = 'express',
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [FixtureAppModule.forRoot(database.options, tokens)],
  }).compile();
  return createAppOn(moduleRef, adapter, { logger: false });
}

describe.each(HTTP_ADAPTERS)(
  `AccessTokensModule in an app of its own on $server, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    let database: TestDatabase;
    let app: INestApplication;
    let http: ReturnType<typeof request>;
    let tokens: TokensService;
    let members: Repository<Member>;

    beforeAll(async () => {
      database = await createTestDatabase();
      app = await start(database, undefined, adapter);
      http = request(app.getHttpServer());
      tokens = app.get(TokensService);
      members = app.get(DataSource).getRepository(Member);
      await members.insert([
        { memberId: 'm-ann', login: 'ann', secret: 'x', disabled: false, grants: ['reports:*'] },
        { memberId: 'm-ben', login: 'ben', secret: 'x', disabled: false, grants: ['reports:read', 'billing:read'] },
      ]);
    });

    afterAll(async () => {
      await app?.close();
      await database?.drop();
    });

    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

    it("changes nothing of the HTTP server's request and reply prototypes: a guest in the app", async () => {
      const { token } = await tokens.issue('m-ann', { name: 'guest' });
      await http.get('/reports').set(bearer(token)).expect(200);
      const server = app.getHttpAdapter().getInstance() as { request?: object };
      // Express keeps the app's request prototype on `app.request`; a fresh app's has only `app`.
      if (adapter === 'express') expect(Object.getOwnPropertyNames(server.request)).toEqual(['app']);
      expect(Object.getOwnPropertyNames(Object.getPrototypeOf(server.request ?? {}) as object)).not.toContain('user');
    });

    it('issues tokens with the configured prefix to a user with a text primary key', async () => {
      const { token, accessToken } = await tokens.issue('m-ann', { name: 'laptop' });
      expect(token).toMatch(/^fx_[0-9A-Za-z]{83}$/);
      expect(accessToken.hint).toMatch(/^fx_…/);
      await http
        .get('/reports')
        .set(bearer(token))
        .expect(200, { member: 'm-ann', scopes: ['reports:*'] });
    });

    it('applies the scopes of the controller and of the handler', async () => {
      const { token } = await tokens.issue('m-ann', { name: 'read only', scopes: ['reports:read'] });
      await http.get('/reports').set(bearer(token)).expect(200);
      const response = await http.get('/reports/export').set(bearer(token)).expect(403);
      expect(response.headers['www-authenticate']).toBe(
        'Bearer realm="fixture", error="insufficient_scope", error_description="The access token lacks the required scope: needs all of reports:export", scope="reports:export"',
      );
      const exporter = await tokens.issue('m-ann', { name: 'export only', scopes: ['reports:export'] });
      await http.get('/reports/export').set(bearer(exporter.token)).expect(403);
      const both = await tokens.issue('m-ann', { name: 'both', scopes: ['reports:read', 'reports:export'] });
      await http.get('/reports/export').set(bearer(both.token)).expect(200);
    });

    it('satisfies any-of requirements with any one scope, and wildcards with prefixes', async () => {
      const ben = await tokens.issue('m-ben', { name: 'billing', scopes: ['reports:read', 'billing:read'] });
      await http.get('/reports/billing').set(bearer(ben.token)).expect(200);
      const ann = await tokens.issue('m-ann', { name: 'all reports', scopes: ['reports:*'] });
      await http.get('/reports/billing').set(bearer(ann.token)).expect(200);
      await http.get('/reports/export').set(bearer(ann.token)).expect(200);
      const narrow = await tokens.issue('m-ben', { name: 'reports', scopes: ['reports:read'] });
      const response = await http.get('/reports/billing').set(bearer(narrow.token)).expect(403);
      expect(response.headers['www-authenticate']).toContain('scope="reports:admin billing:read"');
    });

    it('never grants more than the user may do now', async () => {
      const { token } = await tokens.issue('m-ben', { name: 'everything' });
      await http
        .get('/reports')
        .set(bearer(token))
        .expect(200, { member: 'm-ben', scopes: ['reports:read', 'billing:read'] });
      await members.save({ memberId: 'm-ben', grants: ['billing:read'] });
      await http.get('/reports').set(bearer(token)).expect(403);
      await members.save({ memberId: 'm-ben', grants: ['reports:read', 'billing:read'] });
      await http.get('/reports').set(bearer(token)).expect(200);
    });

    it("refuses to issue scopes that reach none of the user's permissions", async () => {
      await expect(tokens.issue('m-ben', { name: 'x', scopes: ['reports:export'] })).rejects.toMatchObject({
        code: 'invalid_scope',
      });
      await expect(tokens.issue('m-ben', { name: 'x', scopes: ['admin:*'] })).rejects.toMatchObject({
        code: 'invalid_scope',
      });
      await expect(tokens.issue('nobody', { name: 'x' })).rejects.toBeInstanceOf(errors.UserNotFoundError);
    });

    it('issues to the user object the app checked, and refuses once its watched fields changed', async () => {
      await members.insert({
        memberId: 'm-eve',
        login: 'eve',
        secret: 'old',
        disabled: false,
        grants: ['reports:read'],
      });
      const checked = await members.findOneByOrFail({ memberId: 'm-eve' });
      const { token } = await tokens.issue(checked, { name: 'checked' });
      await http.get('/reports').set(bearer(token)).expect(200);
      await members.update({ memberId: 'm-eve' }, { secret: 'new' });
      await expect(tokens.issue(checked, { name: 'stale' })).rejects.toBeInstanceOf(errors.InvalidCredentialsError);
      await expect(tokens.issue('m-eve', { name: 'by id' })).resolves.toMatchObject({ accessToken: { name: 'by id' } });
    });

    it('issues a wildcard below "*" that covers some of the user\'s permissions, granting only those', async () => {
      const { token, accessToken } = await tokens.issue('m-ben', { name: 'reports', scopes: ['reports:*'] });
      expect(accessToken.scopes).toEqual(['reports:*']);
      await http
        .get('/reports')
        .set(bearer(token))
        .expect(200, { member: 'm-ben', scopes: ['reports:read'] });
      await http.get('/reports/billing').set(bearer(token)).expect(403);
    });

    it('lets an app match an error by its code (docs/security.md#errors)', async () => {
      const { accessToken } = await tokens.issue('m-ann', { name: 'to revoke' });
      await expect(revokeIfAny(tokens, 'm-ann', accessToken.id)).resolves.toMatchObject({
        revokedAt: expect.any(Date),
      });
      await expect(revokeIfAny(tokens, 'm-ann', randomUUID())).resolves.toBeNull();
    });

    it('refuses the tokens of a blocked user', async () => {
      await members.insert({ memberId: 'm-cat', login: 'cat', secret: 'x', disabled: false, grants: ['reports:read'] });
      const { token } = await tokens.issue('m-cat', { name: 'x' });
      await members.update({ memberId: 'm-cat' }, { disabled: true });
      const response = await http.get('/reports').set(bearer(token)).expect(401);
      expect(response.body.reason).toBe('user_blocked');
      await expect(tokens.issue('m-cat', { name: 'y' })).rejects.toMatchObject({
        name: 'AccountBlockedError',
        code: 'account_blocked',
      });
    });

    it("answers an app's own sign-in for a blocked user 403 account_blocked, with no token challenge: none was sent", async () => {
      await members.insert({ memberId: 'm-dot', login: 'dot', secret: 'x', disabled: true, grants: ['reports:read'] });
      const response = await http.post('/sign-in/m-dot').expect(403);
      expect(response.body).toEqual({
        statusCode: 403,
        error: 'account_blocked',
        reason: 'account_blocked',
        message: 'The user is blocked: no token or session is issued to a blocked user until it is unblocked',
      });
      expect(response.headers['www-authenticate']).toBeUndefined();
      await members.update({ memberId: 'm-dot' }, { disabled: false });
      await http.post('/sign-in/m-dot').expect(201);
    });

    it('accepts the query parameter when the app allows it, but not together with a header', async () => {
      const { token } = await tokens.issue('m-ann', { name: 'query' });
      await http.get(`/reports?access_token=${token}`).expect(200);
      const twice = await http.get(`/reports?access_token=${token}`).set(bearer(token)).expect(400);
      expect(twice.body.error).toBe('invalid_request');
      await http.get(`/reports?access_token=${token}&access_token=${token}`).expect(400);
    });

    describe('through the Passport strategy', () => {
      it('authenticates a valid token', async () => {
        const { token } = await tokens.issue('m-ann', { name: 'passport' });
        await http.get('/passport').set(bearer(token)).expect(200, { member: 'm-ann' });
        await http
          .get('/passport')
          .set('Authorization', `Basic ${Buffer.from(`${token}:`).toString('base64')}`)
          .expect(200);
      });

      it('fails softly on no token or a foreign one, so other strategies could try', async () => {
        await http.get('/passport').expect(401);
        await http.get('/passport').set(bearer('eyJhbGciOiJIUzI1NiJ9.e30.abc')).expect(401);
      });

      it('answers a revoked token as RFC 6750 says', async () => {
        const { token, accessToken } = await tokens.issue('m-ann', { name: 'revoked' });
        await tokens.revoke('m-ann', accessToken.id);
        const response = await http.get('/passport').set(bearer(token)).expect(401);
        expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
        expect(response.body.reason).toBe('revoked');
      });
    });

    it('revokes by secret and tells whether a live token was revoked', async () => {
      const { token } = await tokens.issue('m-ann', { name: 'leak' });
      expect(await tokens.revokeBySecret(token)).toBe(true);
      expect(await tokens.revokeBySecret(token)).toBe(false);
      expect(await tokens.revokeBySecret('garbage')).toBe(false);
      await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'revoked', revokedReason: 'revoked_by_secret' });
    });
  },
);

// Options are checked the same whatever the database. SQLite also matters here: an app that fails
// to start leaves no handle to close the connection pool TypeORM already opened.
describe('AccessTokensModule options', () => {
  let database: TestDatabase;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  afterAll(async () => {
    await database?.drop();
  });

  async function startupError(options: AccessTokensModuleOptions): Promise<unknown> {
    try {
      app = await start(database, AccessTokensModule.forRoot(options));
    } catch (error) {
      return error;
    }
    return undefined;
  }

  it('are read through forRootAsync', async () => {
    app = await start(
      database,
      AccessTokensModule.forRootAsync({
        useFactory: async () => ({ ...FIXTURE_OPTIONS, tokens: { prefix: 'async' } }),
      }),
    );
    await app
      .get(DataSource)
      .getRepository(Member)
      .save({ memberId: 'm-a', login: 'a', secret: 'x', disabled: false, grants: ['*'] });
    const { token } = await app.get(TokensService).issue('m-a', { name: 'x' });
    expect(token).toMatch(/^async_/);
  });

  it.each([
    // The options are grouped (tokens.prefix): the flat name of 0.1.0 is unknown like any other.
    [
      { ...FIXTURE_OPTIONS, tokenPrefix: 'x' },
      /unknown option tokenPrefix; known: user, secret, tokens, .*, clock, telemetry, isGlobal, exceptionFilter, routes$/,
    ],
    [
      { ...FIXTURE_OPTIONS, tokens: { prefx: 'x' } },
      /unknown option tokens.prefx; known: prefix, lifetimeSeconds, .*, lastUsedIntervalSeconds, unusedScopeSeconds$/,
    ],
    [{ ...FIXTURE_OPTIONS, tokens: { prefix: 'Bad-Prefix' } }, /tokens.prefix "Bad-Prefix" must be lower-case/],
    [
      { ...FIXTURE_OPTIONS, tokens: { lifetimeSeconds: 7200, maxLifetimeSeconds: 3600 } },
      /tokens.lifetimeSeconds \(7200\) must not exceed tokens.maxLifetimeSeconds \(3600\)/,
    ],
    [{ ...FIXTURE_OPTIONS, tokens: { lifetimeSeconds: -1 } }, /tokens.lifetimeSeconds must be a positive whole number/],
    [{ ...FIXTURE_OPTIONS, credentials: { realm: 'a"b' } }, /credentials.realm must be/],
    [
      { ...FIXTURE_OPTIONS, credentials: { queryParameter: 'a b' } },
      /credentials.queryParameter must be false, or the name of the query parameter: 1 to 64 letters/,
    ],
    [
      { ...FIXTURE_OPTIONS, user: { ...FIXTURE_OPTIONS.user, blockedField: 'banned' } },
      /user.blockedField is "banned", but Member has no such column: set user.blockedField to one of memberId, login.*, or to null if users cannot be blocked$/,
    ],
    // The snippet of docs/configuration.md ("The module") on a user entity that has no "blocked" column.
    [
      {
        secret: TEST_SECRET,
        user: { entity: Member, idField: 'memberId', usernameField: 'login', passwordHashField: 'secret' },
      },
      /user.blockedField is "blocked".*, or to null if users cannot be blocked$/,
    ],
    [
      { ...FIXTURE_OPTIONS, user: { ...FIXTURE_OPTIONS.user, passwordHashField: 'pwd' } },
      /user.passwordHashField is "pwd".*, or to null if users have no password$/,
    ],
    [{ ...FIXTURE_OPTIONS, user: { entity: Member } }, /user.idField is "id", but Member has no such column/],
    [{ ...FIXTURE_OPTIONS, user: {} }, /user.entity must be the app's user entity class/],
    // The secret, as the seed API insists: random, never the default, never a placeholder.
    [{ ...FIXTURE_OPTIONS, secret: undefined }, /secret is missing: generate one with `openssl rand -base64 32`/],
    [
      { ...FIXTURE_OPTIONS, secret: 'too short to sign anything' },
      /secret is 26 bytes long; it needs at least 32: generate one/,
    ],
    [
      { ...FIXTURE_OPTIONS, secret: 'changemechangemechangemechangeme' },
      /secret contains "changeme": it looks like a placeholder/,
    ],
    [{ ...FIXTURE_OPTIONS, secret: 'a'.repeat(40) }, /secret repeats a few characters/],
    [{ ...FIXTURE_OPTIONS, secret: [TEST_SECRET, 'short'] }, /secret #2 is 5 bytes long/],
    [{ ...FIXTURE_OPTIONS, secret: [] }, /secret must be a string, or a list of them/],
    // 0.1.0 was never released: an option it once had is unknown like any other.
    [{ ...FIXTURE_OPTIONS, fingerprintSecret: 'x' }, /unknown option fingerprintSecret; known: /],
    [
      { ...FIXTURE_OPTIONS, cache: { ttlSeconds: 60, busTtlSeconds: 30 } },
      /cache.busTtlSeconds \(30\) must be at least cache.ttlSeconds \(60\)/,
    ],
  ] as [AccessTokensModuleOptions, RegExp][])('stop the app at start-up when wrong: %#', async (options, message) => {
    const error = await startupError(options);
    expect(error).toBeInstanceOf(errors.InvalidOptionsError);
    expect((error as Error).message).toMatch(message);
  });

  it('stop the app when the user entity is not registered with TypeORM', async () => {
    class Stranger {}
    const moduleRef = Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({ ...database.options, entities: [Member], autoLoadEntities: true, synchronize: true }),
        AccessTokensModule.forRoot({ user: { entity: Stranger }, secret: TEST_SECRET }),
      ],
    });
    await expect(moduleRef.compile()).rejects.toThrow(/Stranger is not registered with the TypeORM DataSource/);
  });

  it('stop the app when the team entity is not registered with TypeORM, or is the user entity', async () => {
    class Squad {}
    const moduleRef = Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({ ...database.options, entities: [Member], autoLoadEntities: true, synchronize: true }),
        AccessTokensModule.forRoot({ ...FIXTURE_OPTIONS, teams: { entity: Squad } }),
      ],
    });
    await expect(moduleRef.compile()).rejects.toThrow(
      /teams.entity Squad is not registered with the TypeORM DataSource: add it to "entities"/,
    );
    const error = await startupError({ ...FIXTURE_OPTIONS, teams: { entity: Member } });
    expect((error as Error).message).toMatch(/teams.entity must be another entity than user.entity/);
  });
});
