import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { App } from 'supertest/types';
import { DataSource, Repository } from 'typeorm';
import { AccessToken, TokensService } from 'nestjs-access-tokens';
import { AppModule } from './../src/app.module';
import { configureApp } from './../src/configure';
import { hashPassword } from './../src/users/password';
import { User } from './../src/users/user.entity';
import { UsersService } from './../src/users/users.service';

describe('Access tokens in the app (e2e)', () => {
  let app: INestApplication<App>;
  let tokens: TokensService;
  let users: UsersService;
  let repository: Repository<User>;
  let ann: User;

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  /** The token as the HTTP Basic user name, with an empty password: `curl -u "$TOKEN:"`. */
  const basic = (token: string) => ({ Authorization: `Basic ${Buffer.from(`${token}:`).toString('base64')}` });

  beforeAll(async () => {
    const moduleFixture = await Test.createTestingModule({
      imports: [AppModule],
    }).compile();

    app = moduleFixture.createNestApplication({ logger: false });
    configureApp(app);
    await app.init();
    tokens = app.get(TokensService);
    users = app.get(UsersService);
    repository = app.get(DataSource).getRepository(User);
    // A user of its own each run: `npm test` by hand reuses the database.
    ann = await users.create(`ann-${randomUUID()}@example.com`, 'correct horse battery', [
      'reports:read',
      'reports:write',
    ]);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('/ (GET) is public', () => {
    return request(app.getHttpServer()).get('/').expect(200).expect('Hello World!');
  });

  it('issues a token that works as a Bearer token and as the Basic user name', async () => {
    const { token, accessToken } = await tokens.issue(ann.uuid, { name: 'laptop' });
    expect(token).toMatch(/^nat_[0-9A-Za-z]{83}$/);
    expect(accessToken).toMatchObject({ name: 'laptop', scopes: ['*'] });

    await request(app.getHttpServer()).get('/me').set(bearer(token)).expect(200, { uuid: ann.uuid, email: ann.email });
    await request(app.getHttpServer()).get('/me').set(basic(token)).expect(200, { uuid: ann.uuid, email: ann.email });
  });

  it('answers a request without credentials with 401 and a bare challenge', async () => {
    const response = await request(app.getHttpServer()).get('/me').expect(401);
    expect(response.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('answers a bad token with 401 invalid_token and says why', async () => {
    const response = await request(app.getHttpServer()).get('/me').set(bearer('nat_garbage')).expect(401);
    expect(response.headers['www-authenticate']).toMatch(
      /^Bearer realm="api", error="invalid_token", error_description="[^"]+"$/,
    );
    expect(response.body).toMatchObject({ statusCode: 401, error: 'invalid_token', reason: 'malformed' });

    // Signed by this app, but in no row (pruned, or from before a restored backup).
    const { token, accessToken } = await tokens.issue(ann.uuid, { name: 'deleted' });
    await app.get(DataSource).getRepository(AccessToken).delete(accessToken.id);
    const unknown = await request(app.getHttpServer()).get('/me').set(bearer(token)).expect(401);
    expect(unknown.body).toMatchObject({ statusCode: 401, error: 'invalid_token', reason: 'unknown' });
  });

  it('answers a malformed Authorization header with 400 invalid_request', async () => {
    const response = await request(app.getHttpServer()).get('/me').set('Authorization', 'Bearer a b').expect(400);
    expect(response.headers['www-authenticate']).toContain('error="invalid_request"');
    expect(response.body).toMatchObject({ statusCode: 400, error: 'invalid_request' });
  });

  it('checks @Scopes: 403 insufficient_scope names the scope', async () => {
    const reader = await tokens.issue(ann.uuid, { name: 'reader', scopes: ['reports:read'] });
    const response = await request(app.getHttpServer()).get('/reports').set(bearer(reader.token)).expect(200);
    expect(response.body).toEqual({ owner: ann.email, scopes: ['reports:read'], reports: ['2025-q4'] });

    const writer = await tokens.issue(ann.uuid, { name: 'writer', scopes: ['reports:write'] });
    const refused = await request(app.getHttpServer()).get('/reports').set(bearer(writer.token)).expect(403);
    expect(refused.headers['www-authenticate']).toMatch(
      /^Bearer realm="api", error="insufficient_scope", .*scope="reports:read"$/,
    );
    expect(refused.body).toMatchObject({ statusCode: 403, error: 'insufficient_scope' });
    // Any valid token may still use the routes without @Scopes.
    await request(app.getHttpServer()).get('/me').set(bearer(writer.token)).expect(200);
  });

  it('refuses a revoked token with 401 revoked', async () => {
    const { token, accessToken } = await tokens.issue(ann.uuid, { name: 'to revoke' });
    await request(app.getHttpServer()).get('/me').set(bearer(token)).expect(200);
    await tokens.revoke(ann.uuid, accessToken.id);
    const response = await request(app.getHttpServer()).get('/me').set(bearer(token)).expect(401);
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(response.body).toMatchObject({ error: 'invalid_token', reason: 'revoked' });
  });

  it('revokes all the user tokens when the password changes through repository.save()', async () => {
    const bob = await users.create(`bob-${randomUUID()}@example.com`, 'old password', ['reports:read']);
    const first = await tokens.issue(bob.uuid, { name: 'one' });
    const second = await tokens.issue(bob.uuid, { name: 'two', scopes: ['reports:read'] });
    await request(app.getHttpServer()).get('/me').set(bearer(first.token)).expect(200);
    await request(app.getHttpServer()).get('/reports').set(bearer(second.token)).expect(200);

    const user = await repository.findOneByOrFail({ uuid: bob.uuid });
    user.pwd = await hashPassword('new password');
    await repository.save(user);

    for (const token of [first.token, second.token]) {
      const response = await request(app.getHttpServer()).get('/me').set(bearer(token)).expect(401);
      expect(response.body).toMatchObject({
        error: 'invalid_token',
        reason: 'revoked',
        revokedReason: 'password_changed',
      });
      expect(response.headers['www-authenticate']).toContain('password_changed');
    }
    // The user's other tokens are gone too, but a new one works.
    const fresh = await tokens.issue(bob.uuid, { name: 'after' });
    await request(app.getHttpServer()).get('/me').set(bearer(fresh.token)).expect(200);
  });

  it('revokes them too when UsersService changes the password', async () => {
    const { token } = await tokens.issue(ann.uuid, { name: 'before the change' });
    await users.changePassword(ann.uuid, 'another password');
    const response = await request(app.getHttpServer()).get('/me').set(bearer(token)).expect(401);
    expect(response.body.revokedReason).toBe('password_changed');
  });
});
