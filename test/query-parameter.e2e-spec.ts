import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';

describe.each(HTTP_ADAPTERS)(
  `a query parameter of the app's naming (the seed API's "jwt") on $server, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    let database: TestDatabase;
    let app: INestApplication;
    let http: ReturnType<typeof request>;
    let token: string;

    beforeAll(async () => {
      database = await createTestDatabase();
      app = await startFixtureApp(
        database,
        { ...FIXTURE_OPTIONS, credentials: { ...FIXTURE_OPTIONS.credentials, queryParameter: 'jwt' } },
        { adapter },
      );
      http = request(app.getHttpServer());
      await app
        .get(DataSource)
        .getRepository(Member)
        .insert({ memberId: 'm-q', login: 'q', secret: 'x', disabled: false, grants: ['reports:*'] });
      token = (await app.get(TokensService).issue('m-q', { name: 'jwt' })).token;
    });

    afterAll(async () => {
      await app?.close();
      await database?.drop();
    });

    it('reads the token from ?jwt=, and no longer from ?access_token=', async () => {
      await http.get(`/reports?jwt=${token}`).expect(200);
      const other = await http.get(`/reports?access_token=${token}`).expect(401);
      expect(other.body.reason).toBe('credentials_missing');
    });

    it('names the parameter in its refusals', async () => {
      const twice = await http.get(`/reports?jwt=${token}&jwt=${token}`).expect(400);
      expect(twice.body.message).toBe('The jwt query parameter must be given once, as a token');
      const both = await http.get(`/reports?jwt=${token}`).set('Authorization', `Bearer ${token}`).expect(400);
      expect(both.body.message).toContain('the jwt query parameter');
    });
  },
);
