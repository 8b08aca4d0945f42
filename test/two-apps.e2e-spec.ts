import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';

/**
 * Two apps in one process, each on a database of its own: nothing of one leaks into the other,
 * the Passport strategy included, which Passport keeps once per name for the whole process.
 */
describe.each(HTTP_ADAPTERS)(`two apps in one process on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  const apps: { app: INestApplication; database: TestDatabase; token: string }[] = [];

  beforeAll(async () => {
    for (const name of ['first', 'second']) {
      const database = await createTestDatabase();
      const app = await startFixtureApp(database, undefined, { adapter });
      await app
        .get(DataSource)
        .getRepository(Member)
        .insert({ memberId: `m-${name}`, login: name, secret: 'x', disabled: false, grants: ['reports:*'] });
      const { token } = await app.get(TokensService).issue(`m-${name}`, { name });
      apps.push({ app, database, token });
    }
  });

  afterAll(async () => {
    for (const { app, database } of apps) {
      await app.close().catch(() => undefined);
      await database.drop();
    }
  });

  it.each(['/reports', '/passport'])(
    "each accepts its own tokens on %s, and knows nothing of the other's",
    async (path) => {
      const [first, second] = apps;
      for (const [app, own, other] of [
        [first!.app, first!.token, second!.token],
        [second!.app, second!.token, first!.token],
      ] as const) {
        await request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${own}`).expect(200);
        const refused = await request(app.getHttpServer())
          .get(path)
          .set('Authorization', `Bearer ${other}`)
          .expect(401);
        expect(refused.body.reason).toBe('unknown');
      }
    },
  );

  it('keeps verifying through Passport once the other app has closed', async () => {
    const [first, second] = apps;
    await second!.app.close();
    await request(first!.app.getHttpServer())
      .get('/passport')
      .set('Authorization', `Bearer ${first!.token}`)
      .expect(200, { member: 'm-first' });
  });
});
