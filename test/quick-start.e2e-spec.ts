import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource, type Repository } from 'typeorm';
import { TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { createAppOn, HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import type { User } from './fixtures/quick-start.js';
import { TEST_SECRET } from './fixtures/secrets.js';

/** The README's quick start works as it is written: default field names, global guards, one scoped route. */
describe.each(HTTP_ADAPTERS)(`the README's quick start on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let ann: User;
  let users: () => Repository<User>;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The quick start reads its secret from the environment as its module is declared, as an app
    // must: set before the fixture is loaded.
    process.env.TOKEN_SECRET = TEST_SECRET;
    const { AppModule, User } = await import('./fixtures/quick-start.js');
    users = () => app.get(DataSource).getRepository(User);
    const moduleRef = await Test.createTestingModule({
      imports: [TypeOrmModule.forRoot({ ...database.options, autoLoadEntities: true, synchronize: true }), AppModule],
    }).compile();
    app = await createAppOn(moduleRef, adapter, { logger: false });
    http = request(app.getHttpServer());
    ann = await users().save({ username: 'ann', passwordHash: null, blocked: false });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
    delete process.env.TOKEN_SECRET;
  });

  it('answers a scoped route for a token with the scope', async () => {
    const { token } = await app.get(TokensService).issue(ann.id, { name: 'CI', scopes: ['reports:read'] });
    await http
      .get('/reports')
      .set('Authorization', `Bearer ${token}`)
      .expect(200, { owner: 'ann', reports: ['2026-q1', '2026-q2'] });
  });

  it('refuses a token without the scope with 403, and a request without a token with 401', async () => {
    const { token } = await app.get(TokensService).issue(ann.id, { name: 'other', scopes: ['billing:read'] });
    const refused = await http.get('/reports').set('Authorization', `Bearer ${token}`).expect(403);
    expect(refused.headers['www-authenticate']).toContain('scope="reports:read"');
    await http.get('/reports').expect(401);
    await http.get('/health').expect(200, { status: 'ok' });
  });

  it('reads the default field names: a user blocked in `blocked` can use no token', async () => {
    const ben = await users().save({ username: 'ben', passwordHash: null, blocked: false });
    const { token } = await app.get(TokensService).issue(ben.id, { name: 'laptop' });
    await http.get('/reports').set('Authorization', `Bearer ${token}`).expect(200);
    await users().save({ ...ben, blocked: true });
    await http.get('/reports').set('Authorization', `Bearer ${token}`).expect(401);
  });
});
