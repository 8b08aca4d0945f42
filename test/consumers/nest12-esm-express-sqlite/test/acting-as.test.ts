import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { errors } from 'nestjs-access-tokens';
import { actingAs, ManualClock } from 'nestjs-access-tokens/testing';
import request from 'supertest';
import type { Repository } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../src/app.module.js';
import { configureApp } from '../src/configure.js';
import { User } from '../src/user.entity.js';

// The Vitest example of docs/testing.md ("Testing your app"): keep the two in step.
describe('reports, acting as a user', () => {
  const clock = new ManualClock();
  let app: INestApplication;
  let users: Repository<User>;
  let ann: User;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot({ clock })] }).compile();
    app = moduleRef.createNestApplication();
    // The app's global ValidationPipe, as main.ts sets it up.
    configureApp(app);
    await app.init();
    users = app.get(getRepositoryToken(User));
    ann = await users.save(
      users.create({
        email: `ann.${randomUUID()}@example.com`,
        pwd: '-',
        disabled: false,
        permissions: ['reports:read', 'profile:read'],
      }),
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  it('lists the reports with the reports:read scope, and answers 403 without it', async () => {
    await request(app.getHttpServer())
      .get('/reports')
      .set('Authorization', await actingAs(app, ann, { scopes: ['reports:read'] }))
      .expect(200, { owner: ann.email, reports: ['2026-q1', '2026-q2'] });
    await request(app.getHttpServer())
      .get('/reports')
      .set('Authorization', await actingAs(app, ann, { scopes: ['profile:read'] }))
      .expect(403);
  });

  it('gives the route the user as @CurrentUser()', async () => {
    const response = await request(app.getHttpServer())
      .get('/me')
      .set('Authorization', await actingAs(app, ann))
      .expect(200);
    expect(response.body).toEqual({ uuid: ann.uuid, email: ann.email, scopes: ['reports:read', 'profile:read'] });
  });

  it('cannot grant more than the user may do', async () => {
    await expect(actingAs(app, ann, { scopes: ['reports:write'] })).rejects.toThrow(errors.InvalidScopeError);
  });

  it('expires on the clock passed to the module', async () => {
    const authorization = await actingAs(app, ann, { expiresIn: 3600 });
    clock.advance(3599);
    await request(app.getHttpServer()).get('/me').set('Authorization', authorization).expect(200);
    clock.advance(1);
    await request(app.getHttpServer()).get('/me').set('Authorization', authorization).expect(401);
  });

  it('is refused once the user is blocked', async () => {
    const bob = await users.save(
      users.create({
        email: `bob.${randomUUID()}@example.com`,
        pwd: '-',
        disabled: false,
        permissions: ['reports:read'],
      }),
    );
    const authorization = await actingAs(app, bob);
    await request(app.getHttpServer()).get('/me').set('Authorization', authorization).expect(200);

    bob.disabled = true;
    await users.save(bob);
    await request(app.getHttpServer()).get('/me').set('Authorization', authorization).expect(401);
  });
});
