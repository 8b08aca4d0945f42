import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Repository } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../src/app.module.js';
import { configureApp } from '../src/configure.js';
import { hashPassword } from '../src/password.js';
import { User } from '../src/user.entity.js';

const PASSWORD = 'correct horse battery staple';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

// The ready-made routes under the app's global ValidationPipe, in Vitest (test/routes.spec.ts has the rest, in Jest).
describe("POST /access-tokens/generate under the app's global ValidationPipe", () => {
  let app: INestApplication;
  let ann: User;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot()] }).compile();
    app = configureApp(moduleRef.createNestApplication({ logger: false }));
    await app.init();
    const users = app.get<Repository<User>>(getRepositoryToken(User));
    ann = await users.save(
      users.create({
        email: `ann.${randomUUID()}@example.com`,
        pwd: await hashPassword(PASSWORD),
        disabled: false,
        permissions: ['reports:read', 'tokens:read'],
      }),
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  it('grants exactly the name and scopes asked for, and the token works within them only', async () => {
    const response = await request(app.getHttpServer())
      .post('/access-tokens/generate')
      .set('Authorization', basic(ann.email, PASSWORD))
      .send({ name: 'laptop', scopes: ['tokens:read'] })
      .expect(201);
    expect(response.body).toMatchObject({ name: 'laptop', scopes: ['tokens:read'] });
    const authorization = `Bearer ${(response.body as { token: string }).token}`;
    await request(app.getHttpServer()).get('/access-tokens?limit=1').set('Authorization', authorization).expect(200);
    await request(app.getHttpServer()).get('/reports').set('Authorization', authorization).expect(403);
  });

  it('answers a field the route does not take with 400', async () => {
    await request(app.getHttpServer())
      .post('/access-tokens/generate')
      .set('Authorization', basic(ann.email, PASSWORD))
      .send({ name: 'laptop', scopes: ['tokens:read'], admin: true })
      .expect(400);
  });
});
