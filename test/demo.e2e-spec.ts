import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { basicAuth, startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { testDatabaseKind } from './fixtures/database.js';
import { forgedToken, signedUnknownToken } from './fixtures/secrets.js';

const PASSWORD = 'correct horse battery';

describe.each(HTTP_ADAPTERS)(`demo API on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let demo: DemoApp;
  let alice: string;

  beforeAll(async () => {
    demo = await startDemoApp({ httpAdapter: adapter });
    await signUp('alice');
    alice = await generate('alice');
  });

  afterAll(async () => {
    await demo?.close();
  });

  async function signUp(username: string): Promise<number> {
    const response = await demo.http.post('/users').send({ username, password: PASSWORD }).expect(201);
    return response.body.id as number;
  }

  async function generate(username: string, body: object = {}): Promise<string> {
    const response = await demo.http
      .post('/tokens/generate')
      .set('Authorization', basicAuth(username, PASSWORD))
      .send(body)
      .expect(201);
    return response.body.token as string;
  }

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  describe('GET /health', () => {
    it('answers without credentials', async () => {
      expect((await demo.http.get('/health').expect(200)).body).toMatchObject({
        status: 'ok',
        info: { accessTokens: { status: 'up', tokenStore: 'up', cacheBus: 'none' } },
      });
    });
  });

  describe('POST /users', () => {
    it('signs up and answers the public face of the user', async () => {
      const response = await demo.http.post('/users').send({ username: 'bob', password: PASSWORD }).expect(201);
      expect(response.body).toEqual({ id: expect.any(Number), username: 'bob' });
    });

    it('refuses a taken name with 409', async () => {
      const response = await demo.http.post('/users').send({ username: 'alice', password: PASSWORD }).expect(409);
      expect(response.body.message).toContain('taken');
    });

    it('refuses invalid input with 400 naming the field', async () => {
      const short = await demo.http.post('/users').send({ username: 'carol', password: 'short' }).expect(400);
      expect(JSON.stringify(short.body.message)).toContain('password');
      const badName = await demo.http.post('/users').send({ username: 'a b', password: PASSWORD }).expect(400);
      expect(JSON.stringify(badName.body.message)).toContain('username');
      const long = await demo.http
        .post('/users')
        .send({ username: 'carol', password: 'é'.repeat(40) })
        .expect(400);
      expect(JSON.stringify(long.body.message)).toContain('72 bytes');
      await demo.http.post('/users').send({ username: 'carol', password: PASSWORD, isAdmin: true }).expect(400);
    });

    it('never stores the password', async () => {
      const rows: { password_hash: string }[] = await demo.dataSource.query(
        demo.database.kind === 'postgres'
          ? `SELECT password_hash FROM users WHERE username = $1`
          : `SELECT password_hash FROM users WHERE username = ?`,
        ['alice'],
      );
      expect(rows[0]!.password_hash).toMatch(/^\$2[aby]\$1\d\$/);
      expect(rows[0]!.password_hash).not.toContain(PASSWORD);
    });
  });

  describe('POST /tokens/generate', () => {
    it('issues a token for a user name and password', async () => {
      const response = await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', PASSWORD))
        .expect(201);
      expect(response.body).toEqual({
        token: expect.stringMatching(/^nat_[0-9A-Za-z]{83}$/),
        expires: new Date(demo.clock.now().getTime() + 30 * 24 * 3600 * 1000).toISOString(),
        id: expect.any(String),
        name: expect.any(String),
        scopes: ['*'],
      });
    });

    it('takes a name, scopes and a lifetime', async () => {
      const response = await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', PASSWORD))
        .send({ name: 'CI on my laptop', scopes: ['users:read'], expiresIn: 3600 })
        .expect(201);
      expect(response.body).toMatchObject({
        name: 'CI on my laptop',
        scopes: ['users:read'],
        expires: new Date(demo.clock.now().getTime() + 3600 * 1000).toISOString(),
      });
    });

    it('takes no body under a JSON content type as no options, as clients that always send the header do', async () => {
      const response = await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', PASSWORD))
        .set('Content-Type', 'application/json')
        .expect(201);
      expect(response.body.scopes).toEqual(['*']);
    });

    it('answers a wrong password and an unknown user alike, with a Basic challenge', async () => {
      const wrong = await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', 'wrong password'))
        .expect(401);
      const unknown = await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('nobody', PASSWORD))
        .expect(401);
      expect(wrong.body).toEqual(unknown.body);
      expect(wrong.headers['www-authenticate']).toBe('Basic realm="api"');
    });

    it('offers both schemes when no credentials came', async () => {
      const response = await demo.http.post('/tokens/generate').expect(401);
      expect(response.headers['www-authenticate']).toBe('Basic realm="api", Bearer realm="api"');
    });

    it('renews a token with a token, as Bearer or as the Basic user name', async () => {
      const viaBearer = await demo.http.post('/tokens/generate').set(bearer(alice)).expect(201);
      expect(viaBearer.body.token).not.toBe(alice);
      const viaBasic = await demo.http.post('/tokens/generate').set('Authorization', basicAuth(alice, '')).expect(201);
      expect(viaBasic.body.scopes).toEqual(['*']);
    });

    it('lets a token create tokens only within its own scopes', async () => {
      const narrow = await generate('alice', { scopes: ['users:read'] });
      const child = await demo.http.post('/tokens/generate').set(bearer(narrow)).expect(201);
      expect(child.body.scopes).toEqual(['users:read']);
      const wider = await demo.http
        .post('/tokens/generate')
        .set(bearer(narrow))
        .send({ scopes: ['tokens:read'] })
        .expect(400);
      expect(wider.body).toMatchObject({ error: 'invalid_scope', reason: 'invalid_scope' });
      expect(wider.body.message).toContain('tokens:read');
    });

    it('refuses scopes beyond the user\'s permissions, but not "*"', async () => {
      const response = await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', PASSWORD))
        .send({ scopes: ['users:admin'] })
        .expect(400);
      expect(response.body.message).toContain('users:admin');
      await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', PASSWORD))
        .send({ scopes: ['*'] })
        .expect(201);
    });

    it('refuses malformed scopes and lifetimes with 400', async () => {
      const auth = basicAuth('alice', PASSWORD);
      const scope = await demo.http
        .post('/tokens/generate')
        .set('Authorization', auth)
        .send({ scopes: ['users read'] })
        .expect(400);
      expect(scope.body.message).toContain('"users read"');
      const tooLong = await demo.http
        .post('/tokens/generate')
        .set('Authorization', auth)
        .send({ expiresIn: 400 * 24 * 3600 })
        .expect(400);
      expect(tooLong.body).toMatchObject({ error: 'invalid_expiry' });
      const never = await demo.http
        .post('/tokens/generate')
        .set('Authorization', auth)
        .send({ expiresIn: null })
        .expect(400);
      expect(never.body.message).toContain('must expire');
      await demo.http.post('/tokens/generate').set('Authorization', auth).send({ expiresIn: 0 }).expect(400);
      await demo.http.post('/tokens/generate').set('Authorization', auth).send({ expiresIn: 'soon' }).expect(400);
    });
  });

  describe('authentication', () => {
    it('accepts the token as Bearer and as the Basic user name with an empty password', async () => {
      await demo.http.get('/users/me').set(bearer(alice)).expect(200, { id: 1, username: 'alice' });
      await demo.http
        .get('/users/me')
        .set('Authorization', basicAuth(alice, ''))
        .expect(200, { id: 1, username: 'alice' });
    });

    it('ignores the query parameter, which the demo does not allow', async () => {
      const response = await demo.http.get(`/users/me?access_token=${alice}`).expect(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="api"');
    });

    it('answers no credentials with a bare challenge', async () => {
      const response = await demo.http.get('/users/me').expect(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="api"');
      expect(response.body).toMatchObject({ statusCode: 401, reason: 'credentials_missing' });
    });

    it('rejects a malformed token without any database query', async () => {
      const flipped = `${alice.slice(0, 10)}${alice[10] === 'a' ? 'b' : 'a'}${alice.slice(11)}`;
      for (const garbage of ['nat_garbage', flipped, `xyz_${alice.slice(4)}`, `${alice}A`]) {
        let response: { headers: Record<string, string>; body: Record<string, unknown> } | undefined;
        const queries = await demo.queries.during(async () => {
          response = await demo.http.get('/users/me').set(bearer(garbage)).expect(401);
        });
        expect(queries).toEqual([]);
        expect(response!.headers['www-authenticate']).toBe(
          'Bearer realm="api", error="invalid_token", error_description="The access token is malformed: wrong prefix, length, alphabet, checksum or signature"',
        );
        expect(response!.body).toMatchObject({ error: 'invalid_token', reason: 'malformed' });
      }
    });

    it('verifies a token with one query, then from the cache', async () => {
      const token = await generate('alice');
      const first = await demo.queries.during(() => demo.http.get('/users/me').set(bearer(token)).expect(200));
      expect(first.filter((q) => /^\s*SELECT/i.test(q))).toHaveLength(1);
      const again = await demo.queries.during(() => demo.http.get('/users/me').set(bearer(token)).expect(200));
      expect(again).toEqual([]);
    });

    it('rejects an unknown token', async () => {
      const response = await demo.http
        .get('/users/me')
        .set(bearer(signedUnknownToken('nat')))
        .expect(401);
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(response.headers['www-authenticate']).toContain('unknown');
      expect(response.body.reason).toBe('unknown');
    });

    it('expires a token at its expiry, on the controlled clock', async () => {
      const token = await generate('alice', { expiresIn: 60 });
      demo.clock.advance(59);
      await demo.http.get('/users/me').set(bearer(token)).expect(200);
      demo.clock.advance(1);
      const response = await demo.http.get('/users/me').set(bearer(token)).expect(401);
      expect(response.headers['www-authenticate']).toContain('error_description="The access token expired"');
      expect(response.body.reason).toBe('expired');
    });

    it('answers malformed headers and two ways at once with 400 invalid_request', async () => {
      for (const header of ['Bearer', 'Bearer a b', 'Basic !!!', basicAuth('', '')]) {
        const response = await demo.http.get('/users/me').set('Authorization', header).expect(400);
        expect(response.headers['www-authenticate']).toContain('error="invalid_request"');
        expect(response.body.error).toBe('invalid_request');
      }
      const password = await demo.http.get('/users/me').set('Authorization', basicAuth('alice', PASSWORD)).expect(400);
      expect(password.body.message).toContain('empty password');
    });

    it('records when a token was last used, from where, with what, and the scopes it exercised', async () => {
      const response = await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', PASSWORD))
        .expect(201);
      await demo.http
        .get('/users/me')
        .set(bearer(response.body.token))
        .set('User-Agent', 'demo-client/1.0')
        .expect(200);
      const viewOf = async () =>
        (await demo.http.get('/tokens').set(bearer(alice)).expect(200)).body.find(
          (t: { id: string }) => t.id === response.body.id,
        );
      // GET /users/me needs no scope: its only scope, "*", granted nothing yet.
      expect(await viewOf()).toMatchObject({
        lastUsedAt: demo.clock.now().toISOString(),
        lastUsedIp: '127.0.0.1',
        lastUsedUserAgent: 'demo-client/1.0',
        scopesUsedAt: {},
        unusedScopes: ['*'],
      });
      // GET /users/:id needs users:read, which "*" grants.
      await demo.http.get('/users/1').set(bearer(response.body.token)).expect(200);
      expect(await viewOf()).toMatchObject({
        scopesUsedAt: { '*': demo.clock.now().toISOString() },
        unusedScopes: [],
      });
    });
  });

  describe('scopes', () => {
    it('answers a missing scope with 403 insufficient_scope naming it', async () => {
      const token = await generate('alice', { scopes: ['tokens:read'] });
      const response = await demo.http.get('/users/1').set(bearer(token)).expect(403);
      expect(response.headers['www-authenticate']).toContain('error="insufficient_scope"');
      expect(response.headers['www-authenticate']).toContain('scope="users:read"');
      expect(response.body).toMatchObject({ statusCode: 403, error: 'insufficient_scope' });
    });

    it('lets any valid token read /users/me, and users:read read /users/:id', async () => {
      const token = await generate('alice', { scopes: ['users:read'] });
      await demo.http.get('/users/me').set(bearer(token)).expect(200);
      await demo.http.get('/users/1').set(bearer(token)).expect(200, { id: 1, username: 'alice' });
      await demo.http.get('/users/9999').set(bearer(token)).expect(404);
      await demo.http.get('/users/abc').set(bearer(token)).expect(400);
    });
  });

  describe('token management', () => {
    it("pages the caller's tokens with a Link to the next page, live only when asked", async () => {
      await demo.http.post('/users').send({ username: 'pager', password: PASSWORD }).expect(201);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const response = await demo.http
          .post('/tokens/generate')
          .set('Authorization', basicAuth('pager', PASSWORD))
          .send({ name: `t${i}` })
          .expect(201);
        ids.push(response.body.id);
        demo.clock.advance(1);
      }
      const pager = (
        await demo.http
          .post('/tokens/generate')
          .set('Authorization', basicAuth('pager', PASSWORD))
          .send({ name: 'lister' })
          .expect(201)
      ).body;
      await demo.http.delete(`/tokens/${ids[3]}`).set(bearer(pager.token)).expect(204);
      const seen: string[] = [];
      let next: string | null = '/tokens?limit=2';
      let pages = 0;
      while (next) {
        const response: { body: { id: string }[]; headers: Record<string, string | undefined> } = await demo.http
          .get(next)
          .set(bearer(pager.token))
          .expect(200);
        expect(response.body.length).toBeLessThanOrEqual(2);
        seen.push(...response.body.map((view) => view.id));
        next = /^<([^>]+)>; rel="next"$/.exec(response.headers.link ?? '')?.[1] ?? null;
        pages++;
      }
      expect(pages).toBe(3);
      expect(seen).toEqual([pager.id, ...[...ids].reverse()]);
      const live = await demo.http.get('/tokens?status=live&limit=10').set(bearer(pager.token)).expect(200);
      expect(live.body.map((view: { id: string }) => view.id)).toEqual([pager.id, ids[4], ids[2], ids[1], ids[0]]);
      expect(live.headers.link).toBeUndefined();
    });

    it.each(['limit=0', 'limit=101', 'limit=abc', 'status=dead', 'cursor=bm90IGEgY3Vyc29y', 'cursor=%00', 'page=2'])(
      'answers GET /tokens?%s with 400',
      async (query) => {
        await demo.http.get(`/tokens?${query}`).set(bearer(alice)).expect(400);
      },
    );

    it("lists the caller's tokens without secrets", async () => {
      const response = await demo.http.get('/tokens').set(bearer(alice)).expect(200);
      expect(response.body.length).toBeGreaterThan(0);
      for (const view of response.body) {
        expect(Object.keys(view).sort()).toEqual([
          'allowedIps',
          'canary',
          'createdAt',
          'createdBy',
          'enabled',
          'expiresAt',
          'hint',
          'id',
          'kind',
          'lastUsedAt',
          'lastUsedIp',
          'lastUsedUserAgent',
          'maxUses',
          'metadata',
          'name',
          'rateLimit',
          'revokedAt',
          'revokedReason',
          'scopes',
          'scopesUsedAt',
          'sessionId',
          'unusedScopes',
          'usesLeft',
          'usesPeriod',
          'usesRenewAt',
        ]);
        expect(view.hint).toMatch(/^nat_…[0-9A-Za-z]{4}$/);
      }
      expect(JSON.stringify(response.body)).not.toContain(alice.slice(4, 20));
    });

    it('stores only the hash of a token', async () => {
      const rows: Record<string, unknown>[] = await demo.dataSource.query('SELECT * FROM access_tokens');
      expect(JSON.stringify(rows)).not.toContain(alice);
      expect(JSON.stringify(rows)).not.toContain(alice.slice(4, 40));
    });

    it('creates a named token with POST /tokens and needs tokens:write for it', async () => {
      const response = await demo.http
        .post('/tokens')
        .set(bearer(alice))
        .send({ name: 'deploy', scopes: ['users:read'] })
        .expect(201);
      expect(response.body).toMatchObject({
        token: expect.stringMatching(/^nat_/),
        name: 'deploy',
        scopes: ['users:read'],
        revokedAt: null,
      });
      await demo.http
        .post('/tokens')
        .set(bearer(alice))
        .send({ scopes: ['users:read'] })
        .expect(400);
      const readOnly = await generate('alice', { scopes: ['tokens:read'] });
      await demo.http.post('/tokens').set(bearer(readOnly)).send({ name: 'x' }).expect(403);
    });

    it('revokes one token, and says why it no longer works', async () => {
      const created = await demo.http.post('/tokens').set(bearer(alice)).send({ name: 'short-lived' }).expect(201);
      await demo.http.get('/users/me').set(bearer(created.body.token)).expect(200);
      await demo.http.delete(`/tokens/${created.body.id}`).set(bearer(alice)).expect(204);
      const response = await demo.http.get('/users/me').set(bearer(created.body.token)).expect(401);
      expect(response.headers['www-authenticate']).toContain('revoked');
      expect(response.body).toMatchObject({ reason: 'revoked', revokedReason: 'revoked_by_user' });
      await demo.http.delete(`/tokens/${created.body.id}`).set(bearer(alice)).expect(204);
    });

    it('creates a token with a usage policy that GET /tokens shows, and pauses and resumes it with PATCH /tokens/:id', async () => {
      const created = await demo.http
        .post('/tokens')
        .set(bearer(alice))
        .send({
          name: 'metered',
          scopes: ['users:read'],
          rateLimit: { limit: 10, window: 60 },
          maxUses: 5,
          // Loopback, where the test's requests come from, and a range of its own.
          allowedIps: ['127.0.0.1', '::1', '203.0.113.0/24'],
        })
        .expect(201);
      await demo.http.get('/users/me').set(bearer(created.body.token)).expect(200);
      const list = await demo.http.get('/tokens').set(bearer(alice)).expect(200);
      expect(list.body.find((view: { id: string }) => view.id === created.body.id)).toMatchObject({
        enabled: true,
        rateLimit: { limit: 10, window: 60 },
        maxUses: 5,
        usesLeft: 4,
        usesPeriod: null,
        allowedIps: ['127.0.0.1', '::1', '203.0.113.0/24'],
      });

      await demo.http.patch(`/tokens/${created.body.id}`).set(bearer(alice)).send({ enabled: false }).expect(200);
      const paused = await demo.http.get('/users/me').set(bearer(created.body.token)).expect(401);
      expect(paused.body).toMatchObject({ error: 'invalid_token', reason: 'paused' });
      await demo.http.patch(`/tokens/${created.body.id}`).set(bearer(alice)).send({ enabled: true }).expect(200);
      await demo.http.get('/users/me').set(bearer(created.body.token)).expect(200);
    });

    it("answers 404 for a token that is not the caller's", async () => {
      await signUp('mallory');
      const mallory = await generate('mallory');
      const list = await demo.http.get('/tokens').set(bearer(alice)).expect(200);
      await demo.http.delete(`/tokens/${list.body[0].id}`).set(bearer(mallory)).expect(404);
      await demo.http.delete('/tokens/not-a-token-id').set(bearer(mallory)).expect(404);
      await demo.http.get('/users/me').set(bearer(alice)).expect(200);
    });

    it("revokes all the caller's tokens, and only theirs", async () => {
      await signUp('dave');
      const first = await generate('dave');
      const second = await generate('dave');
      await demo.http.delete('/tokens').set(bearer(first)).expect(204);
      await demo.http.get('/users/me').set(bearer(first)).expect(401);
      await demo.http.get('/users/me').set(bearer(second)).expect(401);
      await demo.http.get('/users/me').set(bearer(alice)).expect(200);
    });
  });

  describe('POST /tokens/revoke', () => {
    it('revokes a leaked token without authentication, answering the same whatever the token', async () => {
      const leaked = await generate('alice');
      const known = await demo.http.post('/tokens/revoke').send({ token: leaked }).expect(200);
      const again = await demo.http.post('/tokens/revoke').send({ token: leaked }).expect(200);
      const unknown = await demo.http
        .post('/tokens/revoke')
        .send({ token: signedUnknownToken('nat') })
        .expect(200);
      const forged = await demo.http
        .post('/tokens/revoke')
        .send({ token: forgedToken('nat') })
        .expect(200);
      const garbage = await demo.http.post('/tokens/revoke').send({ token: 'garbage' }).expect(200);
      expect(new Set([known.text, again.text, unknown.text, forged.text, garbage.text]).size).toBe(1);
      const response = await demo.http.get('/users/me').set(bearer(leaked)).expect(401);
      expect(response.body.revokedReason).toBe('revoked_by_secret');
    });

    it('needs a token in the body', async () => {
      await demo.http.post('/tokens/revoke').send({}).expect(400);
    });
  });

  it('never answers 500 to hostile input', async () => {
    const attempts = [
      demo.http.get('/users/me').set('Authorization', 'Bearer ' + 'a'.repeat(5000)),
      demo.http.get('/users/me').set('Authorization', 'Basic ' + Buffer.from('\u0000:').toString('base64')),
      demo.http.get('/users/me').set('Authorization', 'NTLM abc'),
      demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', PASSWORD))
        .set('Content-Type', 'application/json')
        .send('{"name":'),
      demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', PASSWORD))
        .send({ scopes: 'users:read' }),
      demo.http.post('/tokens/generate').set('Authorization', basicAuth('alice', PASSWORD)).send({ name: '   ' }),
      demo.http
        .post('/tokens')
        .set(bearer(alice))
        .send({ name: 'x'.repeat(500) }),
      demo.http.post('/users').send([]),
    ];
    for (const response of await Promise.all(attempts)) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
  });
});
