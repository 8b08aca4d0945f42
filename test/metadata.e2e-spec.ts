import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { errors, TokensService, type AccessTokenView } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { basicAuth, startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { startPasswordApp, type PasswordApp } from './fixtures/password-app.js';

/** Metadata with something of every JSON kind, and text no single-byte charset holds. */
const METADATA = {
  team: 'billing',
  cost: 12.5,
  ci: true,
  owner: null,
  tags: ['deploy', { region: 'eu-west' }],
  'clé 🔑': 'Ωμέγα · 名前 · 😀\tnotes\nline two',
};

/** `levels` JSON arrays nested in one another, as text: a body no serialiser could have meant. */
const nestedArrays = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

/**
 * Token metadata as a client and an app meet it: given on issue and update through the
 * ready-made routes and `TokensService`, shown in lists and by `@CurrentToken()`, carried by a
 * rotation, removed with `null`; and every input that cannot be stored refused with 400
 * `invalid_metadata` naming what is wrong, changing nothing, a hostile one included (10,000 nested
 * arrays: a quick 400, not a stack overflow).
 */
describe.each(HTTP_ADAPTERS)(`token metadata on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  let started: PasswordApp;
  let tokens: TokensService;
  let api: ReturnType<typeof request>;
  let ann: number;
  /** A token of ann's that may manage tokens. */
  let manager: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    started = await startPasswordApp({ adapter, database: database.options, extras: { routes: true } });
    tokens = started.app.get(TokensService);
    api = request(started.app.getHttpServer());
    ann = await started.addAccount('ann@example.com', null);
    manager = (await tokens.issue(ann, { name: 'manager' })).token;
  });

  afterAll(async () => {
    await started?.app.close();
    await database?.drop();
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const listed = async (): Promise<AccessTokenView[]> =>
    (await api.get('/tokens').set(bearer(manager)).expect(200)).body as AccessTokenView[];
  const listedOne = async (id: string) => (await listed()).find((token) => token.id === id)!;

  it('keeps metadata given to POST /tokens, and shows it in the answer, GET /tokens and @CurrentToken()', async () => {
    const created = await api
      .post('/tokens')
      .set(bearer(manager))
      .send({ name: 'deploys', metadata: METADATA })
      .expect(201);
    expect(created.body.metadata).toEqual(METADATA);
    expect((await listedOne(created.body.id)).metadata).toEqual(METADATA);
    // Read from the database by the verification, then from the cache: both the same.
    for (let request = 0; request < 2; request++) {
      const current = await api.get('/me/token').set(bearer(created.body.token)).expect(200);
      expect(current.body).toMatchObject({ id: created.body.id, metadata: METADATA });
    }
    // A token issued without any has none.
    expect((await listedOne((await tokens.issue(ann, { name: 'plain' })).accessToken.id)).metadata).toBeNull();
  });

  it('replaces metadata with PATCH /tokens/:id, keeps it when not given, removes it with null; the token sees it at once', async () => {
    const { token, accessToken } = await tokens.issue(ann, { name: 'changing', metadata: { v: 1 } });
    await api.get('/me/token').set(bearer(token)).expect(200);
    const replaced = await api
      .patch(`/tokens/${accessToken.id}`)
      .set(bearer(manager))
      .send({ metadata: { v: 2, note: 'été' } })
      .expect(200);
    expect(replaced.body.metadata).toEqual({ v: 2, note: 'été' });
    // The cached verification was dropped with the change.
    expect((await api.get('/me/token').set(bearer(token)).expect(200)).body.metadata).toEqual({ v: 2, note: 'été' });
    await api.patch(`/tokens/${accessToken.id}`).set(bearer(manager)).send({ name: 'renamed' }).expect(200);
    expect(await listedOne(accessToken.id)).toMatchObject({ name: 'renamed', metadata: { v: 2, note: 'été' } });
    const removed = await api
      .patch(`/tokens/${accessToken.id}`)
      .set(bearer(manager))
      .send({ metadata: null })
      .expect(200);
    expect(removed.body.metadata).toBeNull();
    expect((await api.get('/me/token').set(bearer(token)).expect(200)).body.metadata).toBeNull();
    expect((await tokens.update(ann, accessToken.id, { metadata: { back: [1] } })).metadata).toEqual({ back: [1] });
  });

  it('carries metadata to the token a rotation issues', async () => {
    const { accessToken } = await tokens.issue(ann, { name: 'rotating', metadata: METADATA });
    const rotated = await api.post(`/tokens/${accessToken.id}/rotate`).set(bearer(manager)).send({}).expect(201);
    expect(rotated.body.metadata).toEqual(METADATA);
    expect((await listedOne(rotated.body.id)).metadata).toEqual(METADATA);
    expect((await api.get('/me/token').set(bearer(rotated.body.token)).expect(200)).body.metadata).toEqual(METADATA);
  });

  it.each<[string, unknown, RegExp]>([
    ['too big', { blob: 'x'.repeat(5000) }, /^metadata may be at most 4096 bytes of JSON \(UTF-8\)$/],
    ['too big in UTF-8', { blob: '€'.repeat(1500) }, /at most 4096 bytes/],
    [
      'too deep',
      { a: { b: { c: { d: { e: { f: 1 } } } } } },
      /^metadata\.a\.b\.c\.d\.e is nested too deep: .* at most 5 levels/,
    ],
    ['an array', ['a'], /^metadata must be a JSON object/],
    ['a string', 'text', /^metadata must be a JSON object/],
    ['a number', 7, /^metadata must be a JSON object/],
    ['a key too long', { ['k'.repeat(65)]: 1 }, /has a key that is not 1 to 64 printable characters/],
    ['an empty key', { '': 1 }, /has a key that is not 1 to 64 printable characters/],
    ['a key "prototype"', { a: { prototype: 1 } }, /^metadata\.a may not have the key "prototype"$/],
    ['a key "constructor"', { constructor: 'x' }, /^metadata may not have the key "constructor"$/],
    ['NUL in a string', { a: ['ok', 'nul\u0000here'] }, /^metadata\.a\[1\] holds a control character/],
    ['an escape in a string', { a: '\u001b[2J' }, /^metadata\.a holds a control character/],
  ])(
    'refuses metadata that is %s with 400 invalid_metadata saying why, issuing and changing nothing',
    async (_, metadata, message) => {
      const before = await listed();
      const target = before.find((token) => token.name === 'manager')!;
      const created = await api.post('/tokens').set(bearer(manager)).send({ name: 'refused', metadata }).expect(400);
      const updated = await api
        .patch(`/tokens/${target.id}`)
        .set(bearer(manager))
        .send({ name: 'renamed?', metadata })
        .expect(400);
      for (const answer of [created, updated]) {
        expect(answer.body).toMatchObject({ statusCode: 400, error: 'invalid_metadata', reason: 'invalid_metadata' });
        expect(answer.body.message).toMatch(message);
      }
      expect(await listed()).toEqual(before);
    },
  );

  it('refuses a "__proto__" key, changing nothing, whichever refuses it first', async () => {
    const before = await listed();
    const answer = await api
      .post('/tokens')
      .set({ ...bearer(manager), 'Content-Type': 'application/json' })
      .send('{"name": "proto", "metadata": {"__proto__": {"admin": true}}}')
      .expect(400);
    // Fastify's JSON parser refuses the key itself, before any route; Express's parses it as a key.
    if (adapter === 'express') {
      expect(answer.body).toMatchObject({
        reason: 'invalid_metadata',
        message: 'metadata may not have the key "__proto__"',
      });
    }
    expect(await listed()).toEqual(before);
    await expect(
      tokens.issue(ann, { name: 'proto', metadata: JSON.parse('{"__proto__": {"admin": true}}') }),
    ).rejects.toThrow(errors.InvalidMetadataError);
  });

  it('refuses 10,000 nested arrays with a 400, not a stack overflow, and still answers the next request', async () => {
    const before = await listed();
    const answer = await api
      .post('/tokens')
      .set({ ...bearer(manager), 'Content-Type': 'application/json' })
      .send(`{"name": "deep", "metadata": {"a": ${nestedArrays(10_000)}}}`)
      .expect(400);
    expect(answer.body).toMatchObject({ reason: 'invalid_metadata' });
    expect(answer.body.message).toMatch(/^metadata\.a\[0\]\[0\]\[0\]\[0\] is nested too deep/);
    // The same as the whole metadata: refused as no object, without a walk into it.
    const whole = await api
      .patch(`/tokens/${before[0]!.id}`)
      .set({ ...bearer(manager), 'Content-Type': 'application/json' })
      .send(`{"metadata": ${nestedArrays(10_000)}}`)
      .expect(400);
    expect(whole.body).toMatchObject({ reason: 'invalid_metadata' });
    expect(await listed()).toEqual(before);
  });

  it('refuses bad metadata from the service too, before anything is stored', async () => {
    const before = await tokens.list(ann);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    await expect(tokens.issue(ann, { name: 'cycle', metadata: cycle as never })).rejects.toMatchObject({
      code: 'invalid_metadata',
      message: expect.stringMatching(/nested too deep/),
    });
    await expect(tokens.update(ann, before[0]!.id, { name: 'x', metadata: { n: NaN } })).rejects.toMatchObject({
      code: 'invalid_metadata',
      message: 'metadata.n must be a finite number',
    });
    expect(await tokens.list(ann)).toEqual(before);
  });

  it('gives an app a copy it cannot change through the view the cache shares', async () => {
    const { token } = await tokens.issue(ann, { name: 'shared', metadata: { list: [1] } });
    const first = await tokens.verify(token);
    expect(Object.isFrozen(first.accessToken.metadata!.list)).toBe(true);
    expect(() => (first.accessToken.metadata!.list as number[]).push(2)).toThrow(TypeError);
    expect((await tokens.verify(token)).accessToken.metadata).toEqual({ list: [1] });
  });
});

/** The demo: metadata through its REST routes and, as JSON text, through GraphQL. */
describe.each(HTTP_ADAPTERS)(`the demo's token metadata on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let demo: DemoApp;
  let manager: string;

  beforeAll(async () => {
    demo = await startDemoApp({ httpAdapter: adapter });
    await demo.http.post('/users').send({ username: 'alice', password: 'correct horse battery' }).expect(201);
    manager = (
      await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('alice', 'correct horse battery'))
        .expect(201)
    ).body.token as string;
  });

  afterAll(async () => {
    await demo?.close();
  });

  const bearer = () => ({ Authorization: `Bearer ${manager}` });
  const gql = async (query: string, variables: Record<string, unknown> = {}) =>
    (await demo.http.post('/graphql').set(bearer()).send({ query, variables })).body as {
      data?: Record<string, any> | null; // eslint-disable-line @typescript-eslint/no-explicit-any -- read field by field
      errors?: { message: string; extensions: Record<string, unknown> }[];
    };

  it('takes metadata on POST /tokens and PATCH /tokens/:id, and GET /tokens shows it', async () => {
    const created = await demo.http
      .post('/tokens')
      .set(bearer())
      .send({ name: 'rest', metadata: METADATA })
      .expect(201);
    await demo.http
      .patch(`/tokens/${created.body.id}`)
      .set(bearer())
      .send({ metadata: { ...METADATA, stage: 2 } })
      .expect(200);
    const listed = (await demo.http.get('/tokens').set(bearer()).expect(200)).body as AccessTokenView[];
    expect(listed.find((token) => token.id === created.body.id)!.metadata).toEqual({ ...METADATA, stage: 2 });
  });

  it('takes metadata as JSON text over GraphQL (metadataJson), shows it, and refuses text that is no object', async () => {
    const created = await gql(
      'mutation ($json: String) { createToken(name: "gql", scopes: ["tokens:read"], metadataJson: $json) { id accessToken { metadataJson canary } } }',
      { json: JSON.stringify(METADATA) },
    );
    expect(created.errors).toBeUndefined();
    expect(JSON.parse(created.data!.createToken.accessToken.metadataJson as string)).toEqual(METADATA);
    expect(created.data!.createToken.accessToken.canary).toBe(false);
    const id = created.data!.createToken.id as string;
    const removed = await gql('mutation ($id: String!) { updateToken(id: $id, metadataJson: null) { metadataJson } }', {
      id,
    });
    expect(removed.data!.updateToken.metadataJson).toBeNull();
    for (const json of ['{broken', '[1]', '{"a": "\\u0000"}']) {
      const refused = await gql(
        'mutation ($id: String!, $json: String) { updateToken(id: $id, metadataJson: $json) { id } }',
        {
          id,
          json,
        },
      );
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_REQUEST', reason: 'invalid_metadata' });
    }
    const listed = await gql('{ tokens(limit: 100) { id metadataJson canary } }');
    expect(listed.data!.tokens.find((token: { id: string }) => token.id === id)).toEqual({
      id,
      metadataJson: null,
      canary: false,
    });
  });
});
