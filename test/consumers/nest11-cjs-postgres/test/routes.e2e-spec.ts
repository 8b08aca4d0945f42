import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TokensService } from 'nestjs-access-tokens';
import request from 'supertest';
import { App } from 'supertest/types';
import { AppModule } from './../src/app.module';
import { configureApp } from './../src/configure';
import { User } from './../src/users/user.entity';
import { UsersService } from './../src/users/users.service';

const PASSWORD = 'correct horse battery staple';

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

/** What `POST /tokens/generate` answers. */
interface Generated {
  token: string;
  expires: string | null;
  id: string;
  name: string;
  scopes: string[];
}

/** What `POST /auth/login` and `POST /auth/refresh` answer. */
interface Session {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

// The module's routes (forRoot({ routes })) in the app as main.ts starts it: with its global
// ValidationPipe({ whitelist, forbidNonWhitelisted, transform }), which must leave their bodies and
// queries to the routes' own validation.
describe("The ready-made token and session routes, under the app's global ValidationPipe (e2e)", () => {
  let app: INestApplication<App>;
  let http: ReturnType<typeof request>;
  let tokens: TokensService;

  beforeAll(async () => {
    const moduleFixture = await Test.createTestingModule({
      imports: [AppModule],
    }).compile();

    app = moduleFixture.createNestApplication({ logger: false });
    configureApp(app);
    await app.init();
    http = request(app.getHttpServer());
    tokens = app.get(TokensService);
  });

  afterAll(async () => {
    await app?.close();
  });

  /** A new user of its own for each test (`npm test` by hand reuses the database), who may manage tokens and read and write reports. */
  function newUser(): Promise<User> {
    return app
      .get(UsersService)
      .create(`routes-${randomUUID()}@example.com`, PASSWORD, [
        'reports:read',
        'reports:write',
        'tokens:read',
        'tokens:write',
      ]);
  }

  /** A token that manages the user's tokens, generated with the user's password. */
  async function managerOf(user: User): Promise<Generated> {
    const response = await http
      .post('/tokens/generate')
      .set(basic(user.email, PASSWORD))
      .send({ name: 'manager', scopes: ['tokens:read', 'tokens:write', 'reports:read'] })
      .expect(201);
    return response.body as Generated;
  }

  it('generates a token for the e-mail and password with exactly the name and scopes asked for', async () => {
    const user = await newUser();
    const response = await http
      .post('/tokens/generate')
      .set(basic(user.email, PASSWORD))
      .send({ name: 'laptop', scopes: ['tokens:read'] })
      .expect(201);
    const laptop = response.body as Generated;
    expect(laptop).toEqual({
      token: expect.stringMatching(/^nat_/),
      expires: expect.any(String),
      id: expect.any(String),
      name: 'laptop',
      scopes: ['tokens:read'],
    });

    // It lists the user's tokens (tokens:read), and does nothing else.
    const list = await http.get('/tokens').set(bearer(laptop.token)).expect(200);
    expect(list.body).toEqual([expect.objectContaining({ id: laptop.id, name: 'laptop', scopes: ['tokens:read'] })]);
    await http.get('/reports').set(bearer(laptop.token)).expect(403);
    await http.post('/tokens').set(bearer(laptop.token)).send({ name: 'more' }).expect(403);
  });

  it('generates a token with a token: exactly the name and scopes asked for, never more than the asking token has', async () => {
    const user = await newUser();
    const manager = await managerOf(user);
    expect(manager.scopes).toEqual(['tokens:read', 'tokens:write', 'reports:read']);
    const response = await http
      .post('/tokens/generate')
      .set(bearer(manager.token))
      .send({ name: 'laptop', scopes: ['reports:read'] })
      .expect(201);
    const laptop = response.body as Generated;
    expect(laptop).toMatchObject({ name: 'laptop', scopes: ['reports:read'] });

    await http
      .get('/reports')
      .set(bearer(laptop.token))
      .expect(200, { owner: user.email, scopes: ['reports:read'], reports: ['2025-q4'] });
    await http.get('/tokens').set(bearer(laptop.token)).expect(403);
    await http
      .post('/tokens/generate')
      .set(bearer(laptop.token))
      .send({ name: 'wider', scopes: ['tokens:read'] })
      .expect(400);
  });

  it('creates a named token with a token: exactly the name and scopes asked for, which it works within', async () => {
    const user = await newUser();
    const manager = await managerOf(user);
    const response = await http
      .post('/tokens')
      .set(bearer(manager.token))
      .send({ name: 'laptop', scopes: ['reports:read'] })
      .expect(201);
    expect(response.body).toMatchObject({
      token: expect.stringMatching(/^nat_/),
      name: 'laptop',
      scopes: ['reports:read'],
    });
    const laptop = response.body as Generated;

    await http.get('/reports').set(bearer(laptop.token)).expect(200);
    await http.get('/tokens').set(bearer(laptop.token)).expect(403);
    await http.post('/tokens').set(bearer(laptop.token)).send({ name: 'again' }).expect(403);
    const names = (await tokens.list(user.uuid)).map((token) => [token.name, token.scopes]);
    expect(names).toEqual(expect.arrayContaining([['laptop', ['reports:read']]]));
  });

  it('answers a body with a field the route does not take with 400 naming it, and creates nothing', async () => {
    const user = await newUser();
    const manager = await managerOf(user);
    const before = (await tokens.list(user.uuid)).map((token) => token.id);

    const generated = await http
      .post('/tokens/generate')
      .set(basic(user.email, PASSWORD))
      .send({ name: 'laptop', scopes: ['tokens:read'], admin: true })
      .expect(400);
    expect(JSON.stringify(generated.body)).toContain('admin');
    const created = await http
      .post('/tokens')
      .set(bearer(manager.token))
      .send({ name: 'laptop', scopes: ['reports:read'], admin: true })
      .expect(400);
    expect(JSON.stringify(created.body)).toContain('admin');
    await http.post('/tokens').set(bearer(manager.token)).send({ name: 'laptop', scopes: 'reports:read' }).expect(400);
    await http.post('/auth/login').send({ username: user.email, password: PASSWORD, remember: true }).expect(400);

    expect((await tokens.list(user.uuid)).map((token) => token.id)).toEqual(before);
  });

  it('pages GET /tokens?limit=1 by its Link header, and answers limit=0 with 400', async () => {
    const user = await newUser();
    const manager = await managerOf(user);
    const others = [await tokens.issue(user.uuid, { name: 'ci' }), await tokens.issue(user.uuid, { name: 'backup' })];

    const seen: string[] = [];
    const links: string[] = [];
    let next: string | null = '/tokens?limit=1';
    for (let pages = 0; next !== null && pages < 5; pages++) {
      const page: request.Response = await http.get(next).set(bearer(manager.token)).expect(200);
      expect(page.body).toHaveLength(1);
      seen.push((page.body as { id: string }[])[0]!.id);
      next = /^<([^>]+)>; rel="next"$/.exec(page.headers.link ?? '')?.[1] ?? null;
      if (next !== null) links.push(next);
    }
    expect(links).toHaveLength(2);
    for (const link of links) expect(link).toMatch(/^\/tokens\?limit=1&cursor=[A-Za-z0-9_-]+$/);
    expect([...seen].sort()).toEqual([manager.id, ...others.map(({ accessToken }) => accessToken.id)].sort());

    for (const query of ['limit=0', 'limit=101', 'limit=many', 'status=revoked', 'limit=1&admin=1']) {
      await http.get(`/tokens?${query}`).set(bearer(manager.token)).expect(400);
    }
  });

  it('logs in and refreshes once: the new pair works, and the old refresh token is refused with 401 and ends the session', async () => {
    const user = await newUser();
    await http.post('/auth/login').send({ username: user.email, password: 'wrong' }).expect(401);
    const login = await http.post('/auth/login').send({ username: user.email, password: PASSWORD }).expect(200);
    expect(login.body).toEqual({
      accessToken: expect.stringMatching(/^nat_s_/),
      refreshToken: expect.stringMatching(/^nat_r_/),
      expiresIn: expect.any(Number),
      user: { id: user.uuid, username: user.email },
    });
    const first = login.body as Session;
    await http.get('/me').set(bearer(first.accessToken)).expect(200);

    const refreshed = await http.post('/auth/refresh').send({ refreshToken: first.refreshToken }).expect(200);
    expect(refreshed.body).toEqual({
      accessToken: expect.stringMatching(/^nat_s_/),
      refreshToken: expect.stringMatching(/^nat_r_/),
      expiresIn: expect.any(Number),
    });
    const second = refreshed.body as Session;
    await http.get('/me').set(bearer(second.accessToken)).expect(200);
    await http.get('/me').set(bearer(first.accessToken)).expect(401);

    await http.post('/auth/refresh').send({ refreshToken: first.refreshToken }).expect(401);
    // A refresh token presented twice is taken for a stolen one: its whole session ends.
    await http.get('/me').set(bearer(second.accessToken)).expect(401);
    await http.post('/auth/refresh').send({ refreshToken: second.refreshToken }).expect(401);
  });

  it("logs out with 204, after which the session's tokens are refused with 401", async () => {
    const user = await newUser();
    const login = (await http.post('/auth/login').send({ username: user.email, password: PASSWORD }).expect(200))
      .body as Session;
    const refreshed = (await http.post('/auth/refresh').send({ refreshToken: login.refreshToken }).expect(200))
      .body as Session;

    await http.post('/auth/logout').set(bearer(refreshed.accessToken)).expect(204);
    await http.get('/me').set(bearer(refreshed.accessToken)).expect(401);
    await http.post('/auth/refresh').send({ refreshToken: refreshed.refreshToken }).expect(401);
    await http.get('/me').set(bearer(login.accessToken)).expect(401);
  });
});
