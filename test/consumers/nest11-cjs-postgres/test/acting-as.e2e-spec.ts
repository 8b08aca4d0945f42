import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import { errors } from 'nestjs-access-tokens';
import { actingAs } from 'nestjs-access-tokens/testing';
import request from 'supertest';
import { App } from 'supertest/types';
import { Repository } from 'typeorm';
import { AppModule } from './../src/app.module';
import { configureApp } from './../src/configure';
import { User } from './../src/users/user.entity';
import { UsersService } from './../src/users/users.service';

// The Jest example of docs/testing.md ("Testing your app"): keep the two in step.
describe('Reports (e2e), acting as a user', () => {
  let app: INestApplication<App>;
  let ann: User;

  beforeAll(async () => {
    const moduleFixture = await Test.createTestingModule({
      imports: [AppModule],
    }).compile();

    app = moduleFixture.createNestApplication();
    configureApp(app);
    await app.init();
    // A user of its own each run: `npm test` by hand reuses the database.
    ann = await app
      .get(UsersService)
      .create(`ann-${randomUUID()}@example.com`, 'a password', ['reports:read', 'profile:read']);
  });

  afterAll(async () => {
    await app.close();
  });

  it('lists the reports with the reports:read scope', async () => {
    await request(app.getHttpServer())
      .get('/reports')
      .set('Authorization', await actingAs(app, ann, { scopes: ['reports:read'] }))
      .expect(200)
      .expect({ owner: ann.email, scopes: ['reports:read'], reports: ['2025-q4'] });
  });

  it('answers 403 without it', async () => {
    await request(app.getHttpServer())
      .get('/reports')
      .set('Authorization', await actingAs(app, ann, { scopes: ['profile:read'] }))
      .expect(403);
  });

  it('gives the route the user as @CurrentUser()', async () => {
    await request(app.getHttpServer())
      .get('/me')
      .set('Authorization', await actingAs(app, ann))
      .expect(200)
      .expect({ uuid: ann.uuid, email: ann.email });
  });

  it('cannot grant more than the user may do', async () => {
    await expect(actingAs(app, ann, { scopes: ['reports:write'] })).rejects.toThrow(errors.InvalidScopeError);
  });

  it('is refused once the user is blocked', async () => {
    const users = app.get<Repository<User>>(getRepositoryToken(User));
    const bob = await app.get(UsersService).create(`bob-${randomUUID()}@example.com`, 'a password', ['reports:read']);
    const authorization = await actingAs(app, bob);
    await request(app.getHttpServer()).get('/me').set('Authorization', authorization).expect(200);

    bob.disabled = true;
    await users.save(bob);
    await request(app.getHttpServer()).get('/me').set('Authorization', authorization).expect(401);
  });
});
