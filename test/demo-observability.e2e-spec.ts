import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { testDatabaseKind } from './fixtures/database.js';
import { basicAuth, startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';

const PASSWORD = 'correct horse battery';

/** The value of the Prometheus sample `name{labels}` in `text`, labels in any order; 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)\{([^}]*)\} (\S+)$/i.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key, value]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return 0;
}

/** The demo's `GET /metrics` (OpenTelemetry through the Prometheus exporter) and `GET /health` (Terminus). */
describe.each(HTTP_ADAPTERS)(`the demo's observability on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let demo: DemoApp;
  let token: string;

  beforeAll(async () => {
    demo = await startDemoApp({ httpAdapter: adapter });
    await demo.http.post('/users').send({ username: 'olga', password: PASSWORD }).expect(201);
    token = (await demo.http.post('/tokens/generate').set('Authorization', basicAuth('olga', PASSWORD)).expect(201))
      .body.token;
  });

  afterAll(async () => {
    await demo?.close();
  });

  const scrape = async () => {
    const answer = await demo.http.get('/metrics').expect(200);
    expect(answer.headers['content-type']).toMatch(/^text\/plain/);
    return answer.text;
  };

  it('counts a verified and a refused request in GET /metrics, in Prometheus format, without credentials', async () => {
    const before = await scrape();
    const verified = { outcome: 'verified', transport: 'http' };
    const malformed = { outcome: 'malformed', transport: 'http' };
    await demo.http.get('/users/me').set('Authorization', `Bearer ${token}`).expect(200);
    await demo.http.get('/users/me').set('Authorization', 'Bearer nat_forged').expect(401);
    const after = await scrape();
    const total = 'access_tokens_verifications_total';
    expect(sample(after, total, verified) - sample(before, total, verified)).toBe(1);
    expect(sample(after, total, malformed) - sample(before, total, malformed)).toBe(1);
    expect(after).toMatch(/^# TYPE access_tokens_verification_duration histogram$/m);
    expect(sample(after, 'access_tokens_cache_bus_state', { state: 'none' })).toBe(1);
    expect(after).not.toContain(token);
    expect(after).not.toContain(createHash('sha256').update(token).digest('hex'));
  });

  it("counts a canary's use in GET /metrics, answered 401 as an unknown token", async () => {
    const canary = (
      await demo.http
        .post('/tokens')
        .set('Authorization', `Bearer ${token}`)
        .send({ name: 'tripwire', canary: true })
        .expect(201)
    ).body.token as string;
    const uses = 'access_tokens_canary_uses_total';
    const before = sample(await scrape(), uses, {});
    const refused = await demo.http.get('/users/me').set('Authorization', `Bearer ${canary}`).expect(401);
    expect(refused.body).toMatchObject({ reason: 'unknown' });
    const after = await scrape();
    expect(sample(after, uses, {}) - before).toBe(1);
    expect(after).not.toContain(canary);
  });

  it('counts a GraphQL operation as transport graphql', async () => {
    const verified = { outcome: 'verified', transport: 'graphql' };
    const total = 'access_tokens_verifications_total';
    const before = sample(await scrape(), total, verified);
    const answer = await demo.http
      .post('/graphql')
      .set('Authorization', `Bearer ${token}`)
      .send({ query: '{ me { username } }' })
      .expect(200);
    expect(answer.body).toEqual({ data: { me: { username: 'olga' } } });
    expect(sample(await scrape(), total, verified) - before).toBe(1);
  });

  it('answers GET /health through Terminus, with the token store and the cache bus', async () => {
    await demo.http.get('/health').expect(200, {
      status: 'ok',
      info: { accessTokens: { status: 'up', tokenStore: 'up', cacheBus: 'none' } },
      error: {},
      details: { accessTokens: { status: 'up', tokenStore: 'up', cacheBus: 'none' } },
    });
  });
});
