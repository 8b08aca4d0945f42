import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSourceOptions } from 'typeorm';
import { errors, SessionsService } from 'nestjs-access-tokens';
import { testDatabaseKind } from './fixtures/database.js';
import { basicAuth, startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';

const PASSWORD = 'correct horse battery';

/**
 * The database going away under the demo, through a proxy that drops its connections (the shared
 * server stays up for the other specs). Only for the databases behind a network: jest.config.js
 * leaves this file out of SQLite runs, SQLite having no server to lose.
 */
describe.each(HTTP_ADAPTERS)(`a ${testDatabaseKind()} outage, on $server`, ({ adapter }) => {
  let demo: DemoApp;
  let proxy: TcpProxy;
  let cached: string;
  let uncached: string;

  beforeAll(async () => {
    demo = await startDemoApp({ httpAdapter: adapter }, async (options) => {
      const { host, port } = options as DataSourceOptions & { host: string; port: number };
      proxy = await new TcpProxy({ host, port }).start();
      return { ...options, port: proxy.port } as DataSourceOptions;
    });
  });

  afterAll(async () => {
    await demo?.close();
    await proxy?.stop();
  });

  it('answers 503 with Retry-After while the database is away, keeps cached tokens working, and recovers', async () => {
    await demo.http.post('/users').send({ username: 'olga', password: PASSWORD }).expect(201);
    const generate = () =>
      demo.http.post('/tokens/generate').set('Authorization', basicAuth('olga', PASSWORD)).expect(201);
    cached = (await generate()).body.token;
    uncached = (await generate()).body.token;
    await demo.http.get('/users/me').set('Authorization', `Bearer ${cached}`).expect(200);
    const sessions = demo.app.get(SessionsService);
    const session = await sessions.start(1);

    await proxy.cut();
    // The library's own services, called by the app: a 503 to retry, not the driver's error.
    await expect(sessions.refresh(session.refreshToken)).rejects.toBeInstanceOf(errors.StoreUnavailableError);
    await expect(sessions.start(1)).rejects.toBeInstanceOf(errors.StoreUnavailableError);
    await demo.http.get('/users/me').set('Authorization', `Bearer ${cached}`).expect(200, { id: 1, username: 'olga' });
    for (const response of [
      await demo.http.get('/users/me').set('Authorization', `Bearer ${uncached}`),
      await demo.http.get('/tokens').set('Authorization', `Bearer ${cached}`),
      await demo.http.post('/users').send({ username: 'pavel', password: PASSWORD }),
    ]) {
      expect({ status: response.status, retryAfter: response.headers['retry-after'] }).toEqual({
        status: 503,
        retryAfter: '5',
      });
    }

    await proxy.restore();
    // The pool finds its dead connections on use: allow it a few requests to reconnect.
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
      status = (await demo.http.get('/users/me').set('Authorization', `Bearer ${uncached}`)).status;
      expect([200, 503]).toContain(status);
    }
    expect(status).toBe(200);
    await demo.http.get('/tokens').set('Authorization', `Bearer ${cached}`).expect(200);
  });

  it('answers GraphQL operations with SERVICE_UNAVAILABLE, never INTERNAL_SERVER_ERROR, and recovers', async () => {
    const LOGIN =
      'mutation ($username: String!, $password: String!) { login(username: $username, password: $password) { accessToken refreshToken } }';
    const REFRESH = 'mutation ($refreshToken: String!) { refresh(refreshToken: $refreshToken) { accessToken } }';
    const gql = (query: string, variables: Record<string, unknown>, token?: string) => {
      const call = demo.http.post('/graphql').send({ query, variables });
      return token === undefined ? call : call.set('Authorization', `Bearer ${token}`);
    };
    const session = (await gql(LOGIN, { username: 'olga', password: PASSWORD })).body.data.login;
    await proxy.cut();
    for (const [query, variables, token] of [
      [LOGIN, { username: 'olga', password: PASSWORD }, undefined],
      ['{ tokens { id } }', {}, session.accessToken],
      [REFRESH, { refreshToken: session.refreshToken }, undefined],
    ] as const) {
      const answer = (await gql(query, variables, token)).body as {
        errors?: { message: string; extensions: object }[];
      };
      expect(answer.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/try again shortly/),
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      });
    }
    await proxy.restore();
    // The pool finds its dead connections on use: allow it a few requests to reconnect.
    let me: { username: string } | undefined;
    for (let attempt = 0; attempt < 20 && !me; attempt++) {
      const answer = (await gql('{ me { username } }', {}, session.accessToken)).body as {
        data?: { me?: { username: string } };
      };
      expect(JSON.stringify(answer)).not.toContain('INTERNAL_SERVER_ERROR');
      me = answer.data?.me;
    }
    expect(me?.username).toBe('olga');
  });
});
