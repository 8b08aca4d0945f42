import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AccessToken, AccessTokensModule, errors, TokensService, type IssueTokenInput } from 'nestjs-access-tokens';
import { ManualClock } from 'nestjs-access-tokens/testing';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, FixtureAppModule, Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { createAppOn, HTTP_ADAPTERS } from './fixtures/http-adapters.js';

const MEMBER = 'policy-member';

/**
 * Tokens' usage policies as a client meets them, on both HTTP servers: rate limits counted in
 * process on the module's clock, quotas of uses, allowed addresses, pause and resume. The races
 * between instances are in usage-races.e2e-spec.ts.
 */
describe.each(HTTP_ADAPTERS)(`usage policy on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  let app: INestApplication;
  let tokens: TokensService;
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startFixtureApp(database, { ...FIXTURE_OPTIONS, clock }, { adapter });
    tokens = app.get(TokensService);
    await app
      .get(DataSource)
      .getRepository(Member)
      .save({ memberId: MEMBER, login: 'policy', secret: 'h', disabled: false, bio: null, grants: ['*'] });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const issue = async (input: Omit<IssueTokenInput, 'name'>) => tokens.issue(MEMBER, { name: 'policy', ...input });
  const get = (token: string, path = '/reports') =>
    request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);
  const viewOf = async (id: string) => (await tokens.list(MEMBER)).find((token) => token.id === id)!;

  it('answers a token without a policy as before, with no rate limit headers', async () => {
    const { token, accessToken } = await issue({});
    expect(accessToken).toMatchObject({
      enabled: true,
      rateLimit: null,
      maxUses: null,
      usesLeft: null,
      allowedIps: null,
    });
    const answer = await get(token).expect(200);
    expect(answer.headers.ratelimit).toBeUndefined();
    expect(answer.headers['ratelimit-policy']).toBeUndefined();
  });

  it('refuses a request over the rate limit with 429, Retry-After and the RateLimit headers, until the window ends', async () => {
    const { token } = await issue({ rateLimit: { limit: 2, window: 60 } });
    const first = await get(token).expect(200);
    expect(first.headers['ratelimit-policy']).toBe('"token";q=2;w=60');
    expect(first.headers.ratelimit).toBe('"token";r=1;t=60');
    clock.advance(10);
    expect((await get(token).expect(200)).headers.ratelimit).toBe('"token";r=0;t=50');
    const refused = await get(token).expect(429);
    expect(refused.body).toMatchObject({ statusCode: 429, error: 'rate_limited', reason: 'rate_limited' });
    expect(refused.body.message).toBe('The access token is over its rate limit: try again in 50 seconds');
    expect(refused.headers['retry-after']).toBe('50');
    expect(refused.headers['ratelimit-policy']).toBe('"token";q=2;w=60');
    expect(refused.headers.ratelimit).toBe('"token";r=0;t=50');
    expect(refused.headers['www-authenticate']).toBeUndefined();
    clock.advance(50);
    await get(token).expect(200);
  });

  it('applies a changed rate limit at the next request: a new window starts a new count, a new limit counts on', async () => {
    const { token, accessToken } = await issue({ rateLimit: { limit: 1, window: 86_400 } });
    await get(token).expect(200);
    expect((await get(token).expect(429)).headers['retry-after']).toBe('86400');
    // A day's window changed to a minute's: the day's count no longer holds the token back.
    await tokens.update(MEMBER, accessToken.id, { rateLimit: { limit: 1, window: 60 } });
    const next = await get(token).expect(200);
    expect(next.headers['ratelimit-policy']).toBe('"token";q=1;w=60');
    expect(next.headers.ratelimit).toBe('"token";r=0;t=60');
    expect((await get(token).expect(429)).headers['retry-after']).toBe('60');
    // A higher limit in the same window lets the token on at once, counting what it made.
    await tokens.update(MEMBER, accessToken.id, { rateLimit: { limit: 3, window: 60 } });
    expect((await get(token).expect(200)).headers.ratelimit).toBe('"token";r=0;t=60');
    await get(token).expect(429);
  });

  it("sets the rate limit's headers through Passport's strategy too, where the server gives it the response", async () => {
    const { token } = await issue({ rateLimit: { limit: 5, window: 60 } });
    const answer = await get(token, '/passport').expect(200);
    // Express gives the strategy the response as request.res; Fastify's request leads to no reply
    // (docs/usage-policy.md says so): there, AccessTokenGuard sets them.
    const express = app.getHttpAdapter().getType() === 'express';
    expect(answer.headers['ratelimit-policy']).toBe(express ? '"token";q=5;w=60' : undefined);
    expect(answer.headers.ratelimit).toBe(express ? '"token";r=4;t=60' : undefined);
  });

  it('counts a rotated token and its successor as one', async () => {
    const { token, accessToken } = await issue({ rateLimit: { limit: 2, window: 60 } });
    await get(token).expect(200);
    const rotated = await tokens.rotate(MEMBER, accessToken.id, { graceSeconds: 60 });
    expect(rotated.accessToken.rateLimit).toEqual({ limit: 2, window: 60 });
    await get(rotated.token).expect(200);
    // The old token, in its grace period, shares the count: a rotation is no way round the limit.
    await get(token).expect(429);
    await get(rotated.token).expect(429);
  });

  it('takes one use a request, and refuses the token with 403 once none is left', async () => {
    const { token, accessToken } = await issue({ maxUses: 2 });
    expect(accessToken).toMatchObject({ maxUses: 2, usesLeft: 2, usesPeriod: null });
    await get(token).expect(200);
    await get(token).expect(200);
    const refused = await get(token).expect(403);
    expect(refused.body).toMatchObject({ error: 'uses_exhausted', reason: 'uses_exhausted' });
    expect(refused.headers['retry-after']).toBeUndefined();
    expect((await viewOf(accessToken.id)).usesLeft).toBe(0);
    // Refused again, from what this instance knows, with the same answer.
    await get(token).expect(403);
  });

  it('restores the uses once their period has passed, and says when with 429 until then', async () => {
    const { token, accessToken } = await issue({ maxUses: 1, usesPeriod: 3600 });
    await get(token).expect(200);
    clock.advance(600);
    const refused = await get(token).expect(429);
    expect(refused.body.reason).toBe('uses_exhausted');
    expect(refused.headers['retry-after']).toBe('3000');
    clock.advance(3000);
    await get(token).expect(200);
    const view = await viewOf(accessToken.id);
    expect(view.usesLeft).toBe(0);
    // The next period starts with the use that restored the uses.
    expect(view.usesRenewAt!.getTime()).toBe(clock.now().getTime() + 3600_000);
  });

  it('uses no quota for a request its rate limit refused', async () => {
    const { token, accessToken } = await issue({ rateLimit: { limit: 1, window: 60 }, maxUses: 5 });
    await get(token).expect(200);
    await get(token).expect(429);
    await get(token).expect(429);
    expect((await viewOf(accessToken.id)).usesLeft).toBe(4);
  });

  it('keeps the uses made when maxUses changes, and never leaves fewer than none', async () => {
    const { token, accessToken } = await issue({ maxUses: 10 });
    for (let i = 0; i < 4; i++) await get(token).expect(200);
    expect((await tokens.update(MEMBER, accessToken.id, { maxUses: 5 })).usesLeft).toBe(1);
    await get(token).expect(200);
    await get(token).expect(403);
    expect((await tokens.update(MEMBER, accessToken.id, { maxUses: 2 })).usesLeft).toBe(0);
    // Lifting the quota lets the token work again, on this instance at once.
    expect(await tokens.update(MEMBER, accessToken.id, { maxUses: null })).toMatchObject({
      maxUses: null,
      usesLeft: null,
    });
    await get(token).expect(200);
  });

  it('refuses a token from an address it does not allow with 403, and takes IPv4-mapped IPv6 as IPv4', async () => {
    const outside = await issue({ allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });
    const refused = await get(outside.token).expect(403);
    expect(refused.body).toMatchObject({ error: 'ip_not_allowed', reason: 'ip_not_allowed' });
    // Express reports a local client as ::ffff:127.0.0.1 on a dual-stack socket; the list says 127.0.0.1.
    const inside = await issue({ allowedIps: ['127.0.0.0/8', '::1'] });
    await get(inside.token).expect(200);
    // Through Passport's strategy as well.
    await get(outside.token, '/passport').expect(403);
    await get(inside.token, '/passport').expect(200);
    // A refused request is no use of the token: none recorded, and no idle timeout pushed on.
    expect((await viewOf(outside.accessToken.id)).lastUsedAt).toBeNull();
    expect((await viewOf(inside.accessToken.id)).lastUsedAt).not.toBeNull();
  });

  it('ignores X-Forwarded-For unless the app trusts its proxy', async () => {
    const { token } = await issue({ allowedIps: ['203.0.113.5'] });
    await get(token).set('X-Forwarded-For', '203.0.113.5').expect(403);
  });

  it('refuses a paused token with 401 paused until it is resumed, also once cached', async () => {
    const { token, accessToken } = await issue({});
    await get(token).expect(200);
    expect((await tokens.pause(MEMBER, accessToken.id)).enabled).toBe(false);
    const refused = await get(token).expect(401);
    expect(refused.body).toMatchObject({ error: 'invalid_token', reason: 'paused' });
    expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
    expect((await tokens.resume(MEMBER, accessToken.id)).enabled).toBe(true);
    await get(token).expect(200);
    // A revoked token stays revoked: resuming it changes nothing.
    await tokens.revoke(MEMBER, accessToken.id);
    await tokens.resume(MEMBER, accessToken.id);
    expect((await get(token).expect(401)).body.reason).toBe('revoked');
  });

  it('changes nothing for a policy that cannot be, and says which part', async () => {
    const { accessToken } = await issue({ rateLimit: { limit: 5, window: 60 }, maxUses: 3 });
    for (const [changes, message] of [
      [{ rateLimit: { limit: 0, window: 60 } }, /rateLimit.limit/],
      [{ rateLimit: { limit: 5, window: 0 } }, /rateLimit.window/],
      [{ maxUses: 0 }, /maxUses/],
      [{ allowedIps: ['10.0.0.300'] }, /"10.0.0.300" is not an IPv4 or IPv6 address/],
      [{ maxUses: null, usesPeriod: 60 }, /usesPeriod needs maxUses/],
      [{ name: 'renamed', enabled: 'no' }, /enabled must be true or false/],
    ] as const) {
      await expect(tokens.update(MEMBER, accessToken.id, changes as never)).rejects.toThrow(message);
      await expect(tokens.update(MEMBER, accessToken.id, changes as never)).rejects.toBeInstanceOf(
        errors.InvalidUsagePolicyError,
      );
    }
    await expect(issue({ maxUses: 0 })).rejects.toBeInstanceOf(errors.InvalidUsagePolicyError);
    expect(await viewOf(accessToken.id)).toMatchObject({
      name: 'policy',
      enabled: true,
      rateLimit: { limit: 5, window: 60 },
      maxUses: 3,
      usesLeft: 3,
    });
  });

  it('applies the policy to TokensService.verify(), with the address given', async () => {
    const { token } = await issue({ allowedIps: ['192.0.2.0/24'], maxUses: 1 });
    await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'ip_not_allowed' });
    await expect(tokens.verify(token, { ip: '10.0.0.1' })).rejects.toBeInstanceOf(errors.TokenPolicyError);
    await expect(tokens.verify(token, { ip: '::ffff:192.0.2.9' })).resolves.toMatchObject({
      accessToken: { maxUses: 1 },
    });
    await expect(tokens.verify(token, { ip: '192.0.2.9' })).rejects.toMatchObject({ code: 'uses_exhausted' });
  });

  it('fills in the module defaults for what a token leaves out, and null says none', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        FixtureAppModule.forRoot(
          database.options,
          AccessTokensModule.forRoot({
            ...FIXTURE_OPTIONS,
            usage: { defaults: { rateLimit: { limit: 100, window: 3600 }, allowedIps: ['192.0.2.0/24'] } },
          }),
        ),
      ],
    }).compile();
    const other = await createAppOn(moduleRef, adapter, { logger: false });
    try {
      const service = other.get(TokensService);
      const defaulted = await service.issue(MEMBER, { name: 'defaults' });
      expect(defaulted.accessToken).toMatchObject({
        rateLimit: { limit: 100, window: 3600 },
        allowedIps: ['192.0.2.0/24'],
        maxUses: null,
      });
      const own = await service.issue(MEMBER, { name: 'own', rateLimit: null, maxUses: 7 });
      expect(own.accessToken).toMatchObject({ rateLimit: null, allowedIps: ['192.0.2.0/24'], maxUses: 7 });
    } finally {
      await other.close();
    }
  });
});

describe.each(HTTP_ADAPTERS)(`allowed addresses behind a trusted proxy, on $server`, ({ adapter }) => {
  let database: TestDatabase;
  let app: INestApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [FixtureAppModule.forRoot(database.options)],
    }).compile();
    // The app's own choice to trust the proxy in front of it, as each framework takes it.
    app =
      adapter === 'fastify'
        ? await createAppOn(moduleRef, new FastifyAdapter({ trustProxy: true }), { logger: false })
        : await createAppOn(moduleRef, new ExpressAdapter(), {
            logger: false,
            configure: (created) => void (created as NestExpressApplication).set('trust proxy', true),
          });
    await app
      .get(DataSource)
      .getRepository(Member)
      .save({ memberId: MEMBER, login: 'policy', secret: 'h', disabled: false, bio: null, grants: ['*'] });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it("checks the client's address as the framework reports it", async () => {
    const { token } = await app.get(TokensService).issue(MEMBER, { name: 'proxy', allowedIps: ['203.0.113.5'] });
    const ask = (forwarded: string) =>
      request(app.getHttpServer())
        .get('/reports')
        .set('Authorization', `Bearer ${token}`)
        .set('X-Forwarded-For', forwarded);
    await ask('203.0.113.5').expect(200);
    expect((await ask('198.51.100.1').expect(403)).body.reason).toBe('ip_not_allowed');
    // The stored row holds the list as given, nothing the request path adds.
    const row = await app.get(DataSource).getRepository(AccessToken).findOneByOrFail({ name: 'proxy' });
    expect(row.allowedIps).toEqual(['203.0.113.5']);
  });
});
