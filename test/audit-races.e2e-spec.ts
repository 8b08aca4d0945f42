// On Express only: the race is the database's, in which the HTTP server plays no part. Two apps on
// one SQLite file race as two instances would, so it runs on every database.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AccessToken, AccessTokenEvents, TokensService, type AccessTokenEventMap } from 'nestjs-access-tokens';
import { ManualClock } from 'nestjs-access-tokens/testing';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, Member, startFixtureApp } from './fixtures/fixture-app.module.js';

/** How many times the race is run: a race lost once in a while still fails the spec. */
const RUNS = 20;
const MEMBER = 'first-user';

/**
 * `first_used` across two instances of an app on one database: each records the token's first
 * use as far as it knows, both write it at once, and one event fires in all.
 */
describe(`first_used across two instances, on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  let a: INestApplication;
  let b: INestApplication;
  const clock = new ManualClock();
  const events: AccessTokenEventMap['first_used'][] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    a = await startFixtureApp(database, { ...FIXTURE_OPTIONS, clock });
    b = await startFixtureApp(database, { ...FIXTURE_OPTIONS, clock });
    for (const app of [a, b]) app.get(AccessTokenEvents).on('first_used', (event) => void events.push(event));
    await a
      .get(DataSource)
      .getRepository(Member)
      .save({ memberId: MEMBER, login: 'first', secret: 'h', disabled: false, bio: null, grants: ['*'] });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  it(`fires first_used once when both record a token's first use at once (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const { token, accessToken } = await a.get(TokensService).issue(MEMBER, { name: `first ${run}` });
      const use = (app: INestApplication, agent: string) =>
        request(app.getHttpServer())
          .get('/reports')
          .set('Authorization', `Bearer ${token}`)
          .set('User-Agent', agent)
          .expect(200);
      await Promise.all([use(a, 'agent a'), use(b, 'agent b')]);
      // Both instances write their first use at the same time.
      await Promise.all([a.get(TokensService).flushUses(), b.get(TokensService).flushUses()]);
      const fired = events.filter((event) => event.tokenId === accessToken.id);
      expect(fired).toHaveLength(1);
      expect(fired[0]).toMatchObject({ userId: MEMBER, address: '127.0.0.1', at: clock.now() });
      // The row holds a first use, whichever instance's write came last.
      const row = await a.get(DataSource).getRepository(AccessToken).findOneByOrFail({ id: accessToken.id });
      expect(row.lastUsedAt).toEqual(clock.now());
      expect(['agent a', 'agent b']).toContain(row.lastUsedUserAgent);
      expect(['agent a', 'agent b']).toContain(fired[0]!.userAgent);
    }
  }, 120_000);
});
