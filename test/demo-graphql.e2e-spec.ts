import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AccessToken } from 'nestjs-access-tokens';
import { User } from '../src/users/user.entity.js';
import { testDatabaseKind } from './fixtures/database.js';
import { basicAuth, startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';

const PASSWORD = 'correct horse battery';
/** A NUL, which PostgreSQL refuses in any text. */
const NUL = 'a\u0000b';

/** The GraphQL server the demo runs on each HTTP server. */
const SERVERS = HTTP_ADAPTERS.map((server) => ({
  ...server,
  graphql: server.adapter === 'fastify' ? 'Mercurius' : 'Apollo',
}));

interface GraphQLError {
  message: string;
  path?: (string | number)[];
  extensions: Record<string, unknown>;
}

interface GraphQLAnswer {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field
  data?: Record<string, any> | null;
  errors?: GraphQLError[];
}

const LOGIN =
  'mutation ($username: String!, $password: String!) { login(username: $username, password: $password) { accessToken refreshToken expiresIn user { id username } } }';
const REFRESH =
  'mutation ($refreshToken: String!) { refresh(refreshToken: $refreshToken) { accessToken refreshToken expiresIn } }';
const ME = '{ me { id username } }';
/** The policy's variables, left out of an operation unless given (then each part takes its default, or stays). */
const POLICY_VARIABLES = '$rateLimit: RateLimitInput, $maxUses: Int, $usesPeriod: Int, $allowedIps: [String!]';
const POLICY_ARGUMENTS = 'rateLimit: $rateLimit, maxUses: $maxUses, usesPeriod: $usesPeriod, allowedIps: $allowedIps';
/** What the list and updateToken show of a token's state and usage policy. */
const POLICY_FIELDS = 'id name enabled rateLimit { limit window } maxUses usesLeft usesPeriod usesRenewAt allowedIps';
const CREATE = `mutation ($name: String!, $scopes: [String!]!, $expiresIn: Int, ${POLICY_VARIABLES}) { createToken(name: $name, scopes: $scopes, expiresIn: $expiresIn, ${POLICY_ARGUMENTS}) { token id name scopes expires } }`;
const UPDATE = `mutation ($id: String!, $name: String, $enabled: Boolean, ${POLICY_VARIABLES}) { updateToken(id: $id, name: $name, enabled: $enabled, ${POLICY_ARGUMENTS}) { ${POLICY_FIELDS} } }`;
const POLICIES = `{ tokens(limit: 100) { ${POLICY_FIELDS} } }`;
const REVOKE = 'mutation ($id: String!) { revokeToken(id: $id) }';
const TOKENS =
  'query ($limit: Int, $status: String) { tokens(limit: $limit, status: $status) { id kind name scopes hint expiresAt revokedAt revokedReason } }';

/**
 * The demo's `/graphql`, as a client sees it: each operation scoped as its REST twin, the same
 * sessions, refusals as GraphQL errors with `extensions.code`, bad input a `BAD_REQUEST` that
 * changes nothing, never `INTERNAL_SERVER_ERROR`.
 */
describe.each(SERVERS)(`the demo's GraphQL API, $graphql on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let demo: DemoApp;
  /** A personal token of alice's with every scope she has. */
  let alice: string;

  beforeAll(async () => {
    demo = await startDemoApp({ httpAdapter: adapter });
    for (const username of ['alice', 'bob'])
      await demo.http.post('/users').send({ username, password: PASSWORD }).expect(201);
    alice = (await demo.http.post('/tokens/generate').set('Authorization', basicAuth('alice', PASSWORD)).expect(201))
      .body.token;
  });

  afterAll(async () => {
    await demo?.close();
  });

  /** Sends an operation; whatever it answers is never an internal error. */
  async function gql(
    query: string,
    variables: Record<string, unknown> = {},
    token?: string,
    path = '/graphql',
  ): Promise<GraphQLAnswer> {
    const call = demo.http.post(path).send({ query, variables });
    const response = await (token === undefined ? call : call.set('Authorization', `Bearer ${token}`));
    const answer = response.body as GraphQLAnswer;
    expect(JSON.stringify(answer)).not.toContain('INTERNAL_SERVER_ERROR');
    expect(answer.data !== undefined || answer.errors !== undefined).toBe(true);
    return answer;
  }

  /** The one error of a refused operation, whose data is null. */
  async function refusal(
    query: string,
    variables: Record<string, unknown> = {},
    token?: string,
  ): Promise<GraphQLError> {
    const answer = await gql(query, variables, token);
    expect(answer.data ?? null).toBeNull();
    expect(answer.errors).toHaveLength(1);
    return answer.errors![0]!;
  }

  const login = async (username = 'alice', password = PASSWORD) =>
    (await gql(LOGIN, { username, password })).data!.login;
  const refresh = (refreshToken: string) => gql(REFRESH, { refreshToken });

  /** Users and tokens as the database holds them, less what each use records: when, from where, with what scopes. */
  async function snapshot(): Promise<unknown> {
    const users = await demo.dataSource.getRepository(User).find({ order: { id: 'ASC' } });
    const tokens = await demo.dataSource.getRepository(AccessToken).find({ order: { id: 'ASC' } });
    return {
      users,
      tokens: tokens.map(
        ({
          lastUsedAt: _lastUsedAt,
          lastUsedIp: _lastUsedIp,
          lastUsedUserAgent: _lastUsedUserAgent,
          scopesUsed: _scopesUsed,
          ...token
        }) => token,
      ),
    };
  }

  describe('login, refresh and logout', () => {
    it('logs in: a session pair and the user, and the access token authenticates `me` as a Bearer token', async () => {
      const session = await login();
      expect(session).toEqual({
        accessToken: expect.stringMatching(/^nat_s_/),
        refreshToken: expect.stringMatching(/^nat_r_/),
        expiresIn: 900,
        user: { id: expect.any(Number), username: 'alice' },
      });
      expect(await gql(ME, {}, session.accessToken)).toEqual({
        data: { me: { id: session.user.id, username: 'alice' } },
      });
      // The refresh token is no access token.
      expect((await refusal(ME, {}, session.refreshToken)).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'malformed',
      });
    });

    it('answers a wrong password and an unknown user alike, with the message of the REST 401', async () => {
      const wrong = await refusal(LOGIN, { username: 'alice', password: 'wrong password' });
      const unknown = await refusal(LOGIN, { username: 'nobody', password: PASSWORD });
      const rest = await demo.http
        .post('/auth/login')
        .send({ username: 'alice', password: 'wrong password' })
        .expect(401);
      expect(wrong).toEqual(unknown);
      expect(wrong).toMatchObject({
        message: rest.body.message,
        extensions: { code: 'UNAUTHENTICATED', reason: 'invalid_credentials' },
      });
    });

    it('expires the access token after 900 s of the clock, and refreshes into a new pair', async () => {
      const first = await login();
      demo.clock.advance(900);
      expect((await refusal(ME, {}, first.accessToken)).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'expired',
      });
      const second = (await refresh(first.refreshToken)).data!.refresh;
      expect(second).toEqual({
        accessToken: expect.stringMatching(/^nat_s_/),
        refreshToken: expect.stringMatching(/^nat_r_/),
        expiresIn: 900,
      });
      expect((await gql(ME, {}, second.accessToken)).data).toEqual({
        me: { id: expect.any(Number), username: 'alice' },
      });
    });

    it('revokes the previous access token on refresh, as REST does', async () => {
      const first = await login();
      const second = (await refresh(first.refreshToken)).data!.refresh;
      expect((await refusal(ME, {}, first.accessToken)).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'revoked',
        revokedReason: 'refreshed',
      });
      expect((await gql(ME, {}, second.accessToken)).data?.me.username).toBe('alice');
    });

    it('refuses a refresh token presented twice and ends its session: the newer pair is refused too', async () => {
      const first = await login();
      const second = (await refresh(first.refreshToken)).data!.refresh;
      const replay = await refusal(REFRESH, { refreshToken: first.refreshToken });
      expect(replay.extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'revoked',
        revokedReason: 'refresh_token_reused',
      });
      expect(JSON.stringify(replay)).not.toContain(first.refreshToken);
      expect((await refusal(ME, {}, second.accessToken)).extensions).toMatchObject({
        reason: 'revoked',
        revokedReason: 'refresh_token_reused',
      });
      expect((await refusal(REFRESH, { refreshToken: second.refreshToken })).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'revoked',
      });
    });

    it('refuses a refresh token that is garbage or expired', async () => {
      expect((await refusal(REFRESH, { refreshToken: 'garbage' })).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'malformed',
      });
      const session = await login();
      demo.clock.advance(7 * 24 * 3600);
      expect((await refusal(REFRESH, { refreshToken: session.refreshToken })).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'expired',
      });
    });

    it("logs out with the session's access token: its pair is refused after; a personal token cannot log out", async () => {
      const session = await login();
      expect(await gql('mutation { logout }', {}, session.accessToken)).toEqual({ data: { logout: true } });
      expect((await refusal(ME, {}, session.accessToken)).extensions).toMatchObject({
        reason: 'revoked',
        revokedReason: 'logged_out',
      });
      expect((await refusal(REFRESH, { refreshToken: session.refreshToken })).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
      });
      const personal = await refusal('mutation { logout }', {}, alice);
      expect(personal).toMatchObject({
        message: expect.stringContaining('revokeToken'),
        extensions: { code: 'BAD_REQUEST' },
      });
      expect((await refusal('mutation { logout }')).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'credentials_missing',
      });
    });
  });

  describe('tokens', () => {
    it('creates a token within the scopes of its own, lists it without the raw token, and revokes it', async () => {
      const created = (await gql(CREATE, { name: 'deploy', scopes: ['users:read'], expiresIn: 3600 }, alice)).data!
        .createToken;
      expect(created).toEqual({
        token: expect.stringMatching(/^nat_/),
        id: expect.any(String),
        name: 'deploy',
        scopes: ['users:read'],
        expires: expect.any(String),
      });
      expect(Date.parse(created.expires) - demo.clock.now().getTime()).toBeGreaterThan(3598_000);
      expect(Date.parse(created.expires) - demo.clock.now().getTime()).toBeLessThanOrEqual(3600_000);
      expect((await gql(ME, {}, created.token)).data?.me.username).toBe('alice');

      const listed = await gql(TOKENS, { status: 'live' }, alice);
      expect(listed.data!.tokens).toContainEqual(
        expect.objectContaining({
          id: created.id,
          kind: 'personal',
          name: 'deploy',
          scopes: ['users:read'],
          revokedAt: null,
        }),
      );
      expect(JSON.stringify(listed)).not.toContain(created.token);

      expect(await gql(REVOKE, { id: created.id }, alice)).toEqual({ data: { revokeToken: true } });
      const refused = await refusal(ME, {}, created.token);
      expect(refused.extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'revoked',
        revokedReason: 'revoked_by_user',
      });
      expect(JSON.stringify(refused)).not.toContain(created.token);
      const live = (await gql(TOKENS, { status: 'live' }, alice)).data!.tokens as { id: string }[];
      expect(live.map((token) => token.id)).not.toContain(created.id);
      const all = (await gql(TOKENS, { status: 'all', limit: 100 }, alice)).data!.tokens as {
        id: string;
        revokedReason: string | null;
      }[];
      expect(all.find((token) => token.id === created.id)?.revokedReason).toBe('revoked_by_user');
    });

    it('shows what a token did: from where, with what, and the scopes no operation exercised', async () => {
      const created = (
        await gql(CREATE, { name: 'reader', scopes: ['tokens:read', 'users:read'], expiresIn: 3600 }, alice)
      ).data!.createToken;
      // The tokens query (@Scopes('tokens:read')) through the same ScopesGuard as a route.
      await demo.http
        .post('/graphql')
        .set('Authorization', `Bearer ${created.token}`)
        .set('User-Agent', 'graphql-client/2.0')
        .send({ query: TOKENS, variables: { status: 'live' } })
        .expect(200);
      const audit = 'query { tokens(status: "live", limit: 100) { id lastUsedIp lastUsedUserAgent unusedScopes } }';
      const listed = (await gql(audit, {}, alice)).data!.tokens as { id: string }[];
      expect(listed.find((token) => token.id === created.id)).toEqual({
        id: created.id,
        lastUsedIp: '127.0.0.1',
        lastUsedUserAgent: 'graphql-client/2.0',
        unusedScopes: ['users:read'],
      });
    });

    it('pages as GET /tokens does: at most `limit`, newest first', async () => {
      const rest = await demo.http.get('/tokens?limit=2').set('Authorization', `Bearer ${alice}`).expect(200);
      const tokens = (await gql(TOKENS, { limit: 2 }, alice)).data!.tokens as { id: string }[];
      expect(tokens.map((token) => token.id)).toEqual(rest.body.map((token: { id: string }) => token.id));
      expect(tokens).toHaveLength(2);
    });

    it('expires a token at the end of its expiresIn, by the clock', async () => {
      const created = (await gql(CREATE, { name: 'short', scopes: ['users:read'], expiresIn: 60 }, alice)).data!
        .createToken;
      expect((await gql(ME, {}, created.token)).data?.me.username).toBe('alice');
      demo.clock.advance(61);
      expect((await refusal(ME, {}, created.token)).extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'expired',
      });
    });

    it('refuses an operation without the scope with FORBIDDEN and the scope, and creates nothing', async () => {
      const reader = (await gql(CREATE, { name: 'reader', scopes: ['tokens:read'] }, alice)).data!.createToken
        .token as string;
      const before = await snapshot();
      const refused = await refusal(CREATE, { name: 'escalate', scopes: ['tokens:read'] }, reader);
      expect(refused.extensions).toMatchObject({
        code: 'FORBIDDEN',
        reason: 'insufficient_scope',
        scope: 'tokens:write',
      });
      expect((await refusal(REVOKE, { id: '00000000-0000-4000-8000-000000000000' }, reader)).extensions).toMatchObject({
        code: 'FORBIDDEN',
        scope: 'tokens:write',
      });
      expect(await snapshot()).toEqual(before);
      // It may read the list, and `me` needs no scope, as GET /users/me.
      expect((await gql(TOKENS, {}, reader)).data?.tokens.length).toBeGreaterThan(0);
      expect((await gql(ME, {}, reader)).data?.me.username).toBe('alice');
      const userReader = (await gql(CREATE, { name: 'user reader', scopes: ['users:read'] }, alice)).data!.createToken
        .token as string;
      expect((await refusal(TOKENS, {}, userReader)).extensions).toMatchObject({
        code: 'FORBIDDEN',
        scope: 'tokens:read',
      });
    });

    it('lets a token create tokens only within its own scopes, as POST /tokens', async () => {
      const writer = (await gql(CREATE, { name: 'writer', scopes: ['tokens:write'] }, alice)).data!.createToken
        .token as string;
      const before = await snapshot();
      const refused = await refusal(CREATE, { name: 'wider', scopes: ['users:read'] }, writer);
      expect(refused.extensions).toMatchObject({ code: 'BAD_REQUEST', reason: 'invalid_scope' });
      expect(await snapshot()).toEqual(before);
      expect(
        (await gql(CREATE, { name: 'narrower', scopes: ['tokens:write'] }, writer)).data?.createToken.scopes,
      ).toEqual(['tokens:write']);
    });

    it("answers NOT_FOUND for a token id that is not one of the caller's, and revokes nothing", async () => {
      const bobs = (
        await demo.http.post('/tokens/generate').set('Authorization', basicAuth('bob', PASSWORD)).expect(201)
      ).body;
      const before = await snapshot();
      for (const id of [bobs.id, '00000000-0000-4000-8000-000000000000']) {
        expect((await refusal(REVOKE, { id }, alice)).extensions).toMatchObject({
          code: 'NOT_FOUND',
          reason: 'token_not_found',
        });
      }
      expect(await snapshot()).toEqual(before);
      expect((await gql(ME, {}, bobs.token)).data?.me.username).toBe('bob');
    });
  });

  describe('usage policy', () => {
    /** A token of alice's, made by createToken with `policy`. */
    async function created(name: string, policy: Record<string, unknown> = {}): Promise<{ id: string; token: string }> {
      const answer = await gql(CREATE, { name, scopes: ['users:read'], ...policy }, alice);
      expect(answer.errors).toBeUndefined();
      return answer.data!.createToken;
    }

    /** The token as the `tokens` query lists it. */
    async function listed(id: string): Promise<Record<string, unknown> | undefined> {
      const tokens = (await gql(POLICIES, {}, alice)).data!.tokens as { id: string }[];
      return tokens.find((token) => token.id === id);
    }

    const update = (variables: Record<string, unknown>) => gql(UPDATE, variables, alice);
    const works = async (token: string) => expect((await gql(ME, {}, token)).data?.me.username).toBe('alice');

    it('creates a token with a usage policy, lists it with it as GET /tokens does, and counts its uses', async () => {
      const token = await created('metered', {
        rateLimit: { limit: 100, window: 60 },
        maxUses: 10,
        usesPeriod: 86400,
        allowedIps: ['127.0.0.0/8', '::1'],
      });
      // The answer shows the policy as the list does.
      const answer = (
        await gql(
          `mutation ($rateLimit: RateLimitInput) { createToken(name: "answered", scopes: ["users:read"], rateLimit: $rateLimit, maxUses: 5) { accessToken { ${POLICY_FIELDS} } } }`,
          { rateLimit: { limit: 7, window: 60 } },
          alice,
        )
      ).data!.createToken.accessToken;
      expect(answer).toMatchObject({
        name: 'answered',
        enabled: true,
        rateLimit: { limit: 7, window: 60 },
        maxUses: 5,
        usesLeft: 5,
      });
      const shown = {
        id: token.id,
        name: 'metered',
        enabled: true,
        rateLimit: { limit: 100, window: 60 },
        maxUses: 10,
        usesLeft: 10,
        usesPeriod: 86400,
        usesRenewAt: expect.any(String),
        allowedIps: ['127.0.0.0/8', '::1'],
      };
      const before = await listed(token.id);
      expect(before).toEqual(shown);
      const renewIn = Date.parse(before!.usesRenewAt as string) - demo.clock.now().getTime();
      expect(renewIn).toBeGreaterThan(86_398_000);
      expect(renewIn).toBeLessThanOrEqual(86_400_000);

      // The test's requests come from the loopback address, which the token allows.
      await works(token.token);
      expect(await listed(token.id)).toEqual({ ...shown, usesLeft: 9 });
      const rest = await demo.http.get('/tokens?limit=100').set('Authorization', `Bearer ${alice}`).expect(200);
      expect(rest.body.find((view: { id: string }) => view.id === token.id)).toMatchObject({
        ...shown,
        usesLeft: 9,
        usesRenewAt: before!.usesRenewAt,
      });
    });

    it('pauses a token with updateToken(enabled: false): refused as paused until resumed, at once', async () => {
      const token = await created('pausable');
      // Used first, so that what verified it is cached: the pause must reach that too.
      await works(token.token);
      const paused = await update({ id: token.id, enabled: false });
      expect(paused.errors).toBeUndefined();
      expect(paused.data!.updateToken).toMatchObject({ id: token.id, name: 'pausable', enabled: false });
      const refused = await refusal(ME, {}, token.token);
      expect(refused.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'paused' });
      expect(JSON.stringify(refused)).not.toContain(token.token);
      expect(await listed(token.id)).toMatchObject({ enabled: false });

      expect((await update({ id: token.id, enabled: true })).data!.updateToken).toMatchObject({ enabled: true });
      await works(token.token);
    });

    it('renames a token and changes its policy with updateToken, leaving what it is not given; null removes a part', async () => {
      const token = await created('before', { allowedIps: ['127.0.0.1', '::1'] });
      const changed = await update({
        id: token.id,
        name: 'after',
        rateLimit: { limit: 5, window: 10 },
        maxUses: 5,
        usesPeriod: 3600,
      });
      expect(changed.errors).toBeUndefined();
      expect(changed.data!.updateToken).toEqual({
        id: token.id,
        name: 'after',
        enabled: true,
        rateLimit: { limit: 5, window: 10 },
        maxUses: 5,
        usesLeft: 5,
        usesPeriod: 3600,
        usesRenewAt: expect.any(String),
        allowedIps: ['127.0.0.1', '::1'],
      });
      expect(await listed(token.id)).toEqual(changed.data!.updateToken);

      const removed = (await update({ id: token.id, rateLimit: null, maxUses: null, allowedIps: null })).data!
        .updateToken;
      expect(removed).toEqual({
        id: token.id,
        name: 'after',
        enabled: true,
        rateLimit: null,
        maxUses: null,
        usesLeft: null,
        usesPeriod: null,
        usesRenewAt: null,
        allowedIps: null,
      });
    });

    it('refuses a token used from an address it does not allow with FORBIDDEN, ip_not_allowed', async () => {
      const token = await created('office only', { allowedIps: ['203.0.113.0/24'] });
      expect((await refusal(ME, {}, token.token)).extensions).toMatchObject({
        code: 'FORBIDDEN',
        reason: 'ip_not_allowed',
      });
      await update({ id: token.id, allowedIps: null });
      await works(token.token);
    });

    it('refuses a token of maxUses: 1 the second time with FORBIDDEN, uses_exhausted', async () => {
      const token = await created('once', { maxUses: 1 });
      await works(token.token);
      expect((await refusal(ME, {}, token.token)).extensions).toMatchObject({
        code: 'FORBIDDEN',
        reason: 'uses_exhausted',
      });
      expect(await listed(token.id)).toMatchObject({ maxUses: 1, usesLeft: 0 });
    });

    it('refuses a token over its rate limit with TOO_MANY_REQUESTS, rate_limited and retryAfter, until its window ends', async () => {
      const token = await created('limited', { rateLimit: { limit: 1, window: 60 } });
      await works(token.token);
      const refused = await refusal(ME, {}, token.token);
      expect(refused.extensions).toMatchObject({
        code: 'TOO_MANY_REQUESTS',
        reason: 'rate_limited',
        retryAfter: expect.any(Number),
      });
      expect(refused.extensions.retryAfter).toBeGreaterThan(0);
      expect(refused.extensions.retryAfter).toBeLessThanOrEqual(60);
      demo.clock.advance(60);
      await works(token.token);
    });

    it('refuses a policy that cannot be with BAD_REQUEST naming the part, and changes nothing', async () => {
      const token = await created('unchanged', { maxUses: 3 });
      for (const [changes, field] of [
        [{ maxUses: 0 }, 'maxUses'],
        [{ rateLimit: { limit: 1, window: 0 } }, 'window'],
        [{ rateLimit: { limit: 0, window: 60 } }, 'limit'],
        [{ usesPeriod: 0 }, 'usesPeriod'],
        [{ maxUses: null, usesPeriod: 3600 }, 'usesPeriod'],
        [{ allowedIps: ['10.0.0.0/33'] }, 'allowedIps'],
        [{ allowedIps: ['localhost'] }, 'allowedIps'],
        [{ allowedIps: [] }, 'allowedIps'],
        [{ enabled: null }, 'enabled'],
        [{ name: '', enabled: false }, 'name'],
      ] as const) {
        const before = await snapshot();
        const refused = await refusal(UPDATE, { id: token.id, ...changes }, alice);
        expect({ changes, refused }).toMatchObject({
          changes,
          refused: { message: expect.stringContaining(field), extensions: { code: 'BAD_REQUEST' } },
        });
        expect(await snapshot()).toEqual(before);
      }
      expect(await listed(token.id)).toMatchObject({ name: 'unchanged', enabled: true, maxUses: 3, usesLeft: 3 });
    });

    it("answers NOT_FOUND for updateToken of a token that is not one of the caller's, and changes nothing", async () => {
      const bobs = (
        await demo.http.post('/tokens/generate').set('Authorization', basicAuth('bob', PASSWORD)).expect(201)
      ).body;
      const before = await snapshot();
      expect((await refusal(UPDATE, { id: bobs.id, enabled: false }, alice)).extensions).toMatchObject({
        code: 'NOT_FOUND',
        reason: 'token_not_found',
      });
      expect(await snapshot()).toEqual(before);
      expect((await gql(ME, {}, bobs.token)).data?.me.username).toBe('bob');
    });
  });

  describe('refusals', () => {
    it('refuses an operation without a token with UNAUTHENTICATED, naming no token', async () => {
      for (const query of [ME, TOKENS]) {
        expect((await refusal(query)).extensions).toMatchObject({
          code: 'UNAUTHENTICATED',
          reason: 'credentials_missing',
        });
      }
      expect((await refusal(CREATE, { name: 'x', scopes: [] })).extensions).toMatchObject({ code: 'UNAUTHENTICATED' });
    });

    it('refuses a garbage token, and never shows it back', async () => {
      const garbage = `nat_${'x'.repeat(60)}`;
      const refused = await refusal(ME, {}, garbage);
      expect(refused.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'malformed' });
      expect(JSON.stringify(refused)).not.toContain('x'.repeat(20));
    });

    it('takes no token from the query string unless the demo is told to (TOKEN_QUERY_PARAMETER)', async () => {
      const answer = await gql(ME, {}, undefined, `/graphql?access_token=${alice}`);
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'credentials_missing' });
    });
  });

  describe('cost limits (queryCostLimit)', () => {
    /** `count` aliases of `tokens(limit: 100)`, written tight (592 of them fit the demo's 16 KB body limit). */
    const flood = (count: number) =>
      `{${Array.from({ length: count }, (_, index) => `a${index}:tokens(limit:100){id}`).join(' ')}}`;

    it('refuses 592 aliases of tokens(limit: 100) before anything runs: no resolver, no query, one error naming the limit', async () => {
      await gql(ME, {}, alice);
      let answer: GraphQLAnswer = {};
      const queries = await demo.queries.during(async () => (answer = await gql(flood(592), {}, alice)));
      expect(queries).toEqual([]);
      expect(answer.data ?? null).toBeNull();
      expect(answer.errors).toHaveLength(1);
      expect(answer.errors![0]!.message).toMatch(
        /^The operation may cost more than 5000 .*: ask for less in one request$/,
      );
      expect(answer.errors![0]!.extensions).toMatchObject({ reason: 'query_too_costly', limit: 'maxCost', max: 5000 });
    });

    it('refuses aliases past their limit, and lets a modest query of the same shape through', async () => {
      const aliases = `{ ${Array.from({ length: 51 }, (_, index) => `n${index}: __typename`).join(' ')} }`;
      expect((await refusal(aliases, {}, alice)).extensions).toMatchObject({
        reason: 'query_too_costly',
        limit: 'maxAliases',
        max: 50,
      });
      const answer = await gql(flood(3), {}, alice);
      expect(answer.errors).toBeUndefined();
      expect(Object.keys(answer.data!)).toEqual(['a0', 'a1', 'a2']);
    });
  });

  describe('bad input: BAD_REQUEST, and nothing changes', () => {
    const long = (length: number) => 'x'.repeat(length);
    it.each([
      ['a token name of 101 characters', CREATE, { name: long(101), scopes: ['users:read'] }, 'name'],
      ['an empty token name', CREATE, { name: '', scopes: ['users:read'] }, 'name'],
      ['a token name with a NUL', CREATE, { name: NUL, scopes: ['users:read'] }, 'name'],
      ['a scope with a NUL', CREATE, { name: 'n', scopes: [NUL] }, 'scopes'],
      ['51 scopes', CREATE, { name: 'n', scopes: Array.from({ length: 51 }, (_, i) => `s${i}`) }, 'scopes'],
      ['a negative expiresIn', CREATE, { name: 'n', scopes: ['users:read'], expiresIn: -1 }, 'expiresIn'],
      ['an expiresIn of 0', CREATE, { name: 'n', scopes: ['users:read'], expiresIn: 0 }, 'expiresIn'],
      [
        'a rate limit of 0 requests',
        CREATE,
        { name: 'n', scopes: ['users:read'], rateLimit: { limit: 0, window: 60 } },
        'rateLimit.limit',
      ],
      ['a maxUses of 0', CREATE, { name: 'n', scopes: ['users:read'], maxUses: 0 }, 'maxUses'],
      ['a usesPeriod without maxUses', CREATE, { name: 'n', scopes: ['users:read'], usesPeriod: 3600 }, 'usesPeriod'],
      [
        'an allowed address that is none',
        CREATE,
        { name: 'n', scopes: ['users:read'], allowedIps: ['300.1.2.3'] },
        'allowedIps',
      ],
      [
        'an empty list of allowed addresses',
        CREATE,
        { name: 'n', scopes: ['users:read'], allowedIps: [] },
        'allowedIps',
      ],
      ['a token id that is no id', REVOKE, { id: 'not-a-token-id' }, 'id'],
      ['a token id that is no id to update', UPDATE, { id: 'not-a-token-id', enabled: false }, 'id'],
      ['a token id with a NUL', REVOKE, { id: NUL }, 'id'],
      ['a page of 0 tokens', TOKENS, { limit: 0 }, 'limit'],
      ['a page of 101 tokens', TOKENS, { limit: 101 }, 'limit'],
      ['a status that is not live or all', TOKENS, { status: 'dead' }, 'status'],
      ['a user name of 65 characters', LOGIN, { username: long(65), password: PASSWORD }, 'username'],
      ['a user name with a NUL', LOGIN, { username: NUL, password: PASSWORD }, 'username'],
      ['a password of 201 characters', LOGIN, { username: 'alice', password: long(201) }, 'password'],
      ['a refresh token with a NUL', REFRESH, { refreshToken: NUL }, 'refreshToken'],
      ['a refresh token of 201 characters', REFRESH, { refreshToken: long(201) }, 'refreshToken'],
    ])('refuses %s', async (_name, query, variables, field) => {
      const before = await snapshot();
      const refused = await refusal(query, variables, alice);
      expect(refused).toMatchObject({ message: expect.stringContaining(field), extensions: { code: 'BAD_REQUEST' } });
      expect(await snapshot()).toEqual(before);
    });

    it.each([
      {
        name: 'a body over 16 kB',
        raw: JSON.stringify({ query: ME, variables: { pad: 'x'.repeat(20_000) } }),
        status: 413,
        message: 'request body larger than 16384 bytes',
      },
      {
        name: 'JSON nested 1,000 deep',
        raw: `{"query":"{ me { id } }","variables":${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}}`,
        status: 400,
        message: 'JSON body nested deeper than 32 levels',
      },
    ])('answers $name to /graphql as to any route: $status and a fixed message', async ({ raw, status, message }) => {
      const response = await demo.http
        .post('/graphql')
        .set('Authorization', `Bearer ${alice}`)
        .set('Content-Type', 'application/json')
        .send(raw);
      expect({ status: response.status, body: response.body }).toEqual({
        status,
        body: { statusCode: status, error: status === 413 ? 'Payload Too Large' : 'Bad Request', message },
      });
    });

    it('refuses a value of the wrong GraphQL type before any resolver runs', async () => {
      const before = await snapshot();
      const answer = await gql(CREATE, { name: 'n', scopes: ['users:read'], expiresIn: 2 ** 40 }, alice);
      expect(answer.data ?? null).toBeNull();
      expect(answer.errors?.[0]?.message).toMatch(/expiresIn/);
      expect(await snapshot()).toEqual(before);
    });
  });
});

describe.each(SERVERS)(
  `the demo's GraphQL API with TOKEN_QUERY_PARAMETER=jwt, $graphql on $server, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    let demo: DemoApp;

    beforeAll(async () => {
      demo = await startDemoApp({ httpAdapter: adapter, queryParameter: 'jwt' });
      await demo.http.post('/users').send({ username: 'carol', password: PASSWORD }).expect(201);
    });

    afterAll(async () => {
      await demo?.close();
    });

    it('takes the token from ?jwt=, as the CollectiveAccess API does, and only from that parameter', async () => {
      const session = (
        await demo.http.post('/graphql').send({ query: LOGIN, variables: { username: 'carol', password: PASSWORD } })
      ).body.data.login;
      const byQuery = await demo.http.post(`/graphql?jwt=${session.accessToken}`).send({ query: ME });
      expect(byQuery.body).toEqual({ data: { me: { id: session.user.id, username: 'carol' } } });
      const otherName = await demo.http.post(`/graphql?access_token=${session.accessToken}`).send({ query: ME });
      expect(otherName.body.errors[0].extensions).toMatchObject({
        code: 'UNAUTHENTICATED',
        reason: 'credentials_missing',
      });
      await demo.http.get(`/users/me?jwt=${session.accessToken}`).expect(200);
    });
  },
);
