import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { DataSourceOptions } from 'typeorm';
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
    const generate = () => demo.http.post('/tokens/generate').set('Authorization', basicAuth('olga', PASSWORD)).expect(201);
    cached = (await generate()).body.token;
    uncached = (await generate()).body.token;
    await demo.http.get('/users/me').set('Authorization', `Bearer ${cached}`).expect(200);

    await proxy.cut();
    await demo.http.get('/users/me').set('Authorization', `Bearer ${cached}`).expect(200, { id: 1, username: 'olga' });
    for (const response of [
      await demo.http.get('/users/me').set('Authorization', `Bearer ${uncached}`),
      await demo.http.get('/tokens').set('Authorization', `Bearer ${cached}`),
      await demo.http.post('/users').send({ username: 'pavel', password: PASSWORD }),
    ]) {
      expect({ status: response.status, retryAfter: response.headers['retry-after'] }).toEqual({ status: 503, retryAfter: '5' });
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
});
