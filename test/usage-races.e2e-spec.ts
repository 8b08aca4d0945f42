// PostgreSQL and MariaDB only (jest.config.js), on Express only: the races are the database's and
// Redis's, in which the HTTP server plays no part.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AccessToken, TokensService, type AccessTokensModuleOptions } from 'nestjs-access-tokens';
import { ManualClock } from 'nestjs-access-tokens/testing';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, Member, startFixtureApp } from './fixtures/fixture-app.module.js';

/** How many times each race is run: a race lost once in a while still fails the spec. */
const RUNS = 20;
const REDIS_URL = 'redis://127.0.0.1:6379';
const MEMBER = 'racer';

/** Asks until the answer is `status`, for at most `ms`: for a message on its way through the bus. */
async function until(ask: () => Promise<number>, status: number, ms = 3000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if ((await ask()) === status) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`still not ${status} after ${ms} ms`);
}

/**
 * The exactness of quotas and rate limits across two instances of an app on one database, with
 * their rate limits counted in one Redis and their caches kept in step by a Redis bus: concurrent
 * requests spread over both instances get exactly what a token allows, never one more.
 */
describe(`usage policy races across two instances, on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  let a: INestApplication;
  let b: INestApplication;
  let tokens: TokensService;
  /** One clock for both instances, as their hosts' clocks would agree. */
  const clock = new ManualClock();

  beforeAll(async () => {
    database = await createTestDatabase();
    const tag = randomBytes(4).toString('hex');
    const options: AccessTokensModuleOptions = {
      ...FIXTURE_OPTIONS,
      clock,
      cache: { ttlSeconds: 3600, bus: { type: 'redis', url: REDIS_URL, channel: `nat_test_${tag}` } },
      usage: { counters: { type: 'redis', url: REDIS_URL, keyPrefix: `nat_test_${tag}:` } },
    };
    a = await startFixtureApp(database, options);
    b = await startFixtureApp(database, options);
    tokens = a.get(TokensService);
    await a
      .get(DataSource)
      .getRepository(Member)
      .save({ memberId: MEMBER, login: 'racer', secret: 'h', disabled: false, bio: null, grants: ['*'] });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  /** `count` requests at once with `token`, alternately on each instance; their statuses. */
  async function burst(token: string, count: number): Promise<number[]> {
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        request((i % 2 === 0 ? a : b).getHttpServer())
          .get('/reports')
          .set('Authorization', `Bearer ${token}`),
      ),
    );
    return answers.map((answer) => answer.status);
  }

  const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

  it(`never grants one use more than maxUses, whatever the race (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const { token, accessToken } = await tokens.issue(MEMBER, { name: `quota ${run}`, maxUses: 5 });
      const statuses = await burst(token, 14);
      expect(count(statuses, 200)).toBe(5);
      expect(count(statuses, 403)).toBe(9);
      const row = await a.get(DataSource).getRepository(AccessToken).findOneByOrFail({ id: accessToken.id });
      expect(row.usesLeft).toBe(0);
    }
  }, 120_000);

  it(`keeps a rate limit across instances, counted in Redis (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const { token } = await tokens.issue(MEMBER, { name: `rate ${run}`, rateLimit: { limit: 4, window: 3600 } });
      const statuses = await burst(token, 12);
      expect(count(statuses, 200)).toBe(4);
      expect(count(statuses, 429)).toBe(8);
    }
  }, 120_000);

  it(`moves the uses left to a rotated token exactly, while both race for them (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const { token, accessToken } = await tokens.issue(MEMBER, {
        name: `rotate ${run}`,
        maxUses: 6,
        usesPeriod: 30 * 86_400,
      });
      const [before, rotated] = await Promise.all([
        burst(token, 4),
        tokens.rotate(MEMBER, accessToken.id, { graceSeconds: 60 }),
      ]);
      const after = [...(await burst(token, 4)), ...(await burst(rotated.token, 8))];
      // Six uses in all, between the old token and its successor.
      expect(count([...before, ...after], 200)).toBe(6);
      // And none ever restored to the old one in its grace period.
      const old = await a.get(DataSource).getRepository(AccessToken).findOneByOrFail({ id: accessToken.id });
      expect(old).toMatchObject({ usesLeft: 0, usesRenewAt: null });
    }
  }, 120_000);

  it(`restores an allowance once, however many requests race for it (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const { token } = await tokens.issue(MEMBER, { name: `weekly ${run}`, maxUses: 3, usesPeriod: 7 * 86_400 });
      expect(count(await burst(token, 6), 200)).toBe(3);
      // The period ends for both instances at once: the requests that race the restore share one allowance.
      clock.advance(7 * 86_400);
      const statuses = await burst(token, 10);
      expect(count(statuses, 200)).toBe(3);
      expect(count(statuses, 429)).toBe(7);
    }
  }, 120_000);

  it('carries a pause, a resume and a new policy to the other instance, as a revocation', async () => {
    const { token, accessToken } = await tokens.issue(MEMBER, { name: 'paused elsewhere' });
    const askB = async () =>
      (await request(b.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`)).status;
    expect(await askB()).toBe(200);
    await tokens.pause(MEMBER, accessToken.id);
    await until(askB, 401);
    await tokens.resume(MEMBER, accessToken.id);
    await until(askB, 200);
    await tokens.update(MEMBER, accessToken.id, { allowedIps: ['192.0.2.0/24'] });
    await until(askB, 403);
  });
});
