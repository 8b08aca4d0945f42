import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import type { DataSourceOptions } from 'typeorm';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS } from './fixtures/fixture-app.module.js';
import { startHealthApp } from './fixtures/health-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';

/**
 * `AccessTokensHealthIndicator` while the database is away, through a proxy that drops its
 * connections. Only for the databases behind a network: jest.config.js leaves this file out of
 * SQLite runs.
 */
describe.each(HTTP_ADAPTERS)(
  `the Terminus health indicator in a ${testDatabaseKind()} outage, on $server`,
  ({ adapter }) => {
    let database: TestDatabase;
    let proxy: TcpProxy;
    let app: INestApplication;

    beforeAll(async () => {
      database = await createTestDatabase();
      const { host, port } = database.options as DataSourceOptions & { host: string; port: number };
      proxy = await new TcpProxy({ host, port }).start();
      app = await startHealthApp(
        { ...database.options, port: proxy.port } as DataSourceOptions,
        FIXTURE_OPTIONS,
        adapter,
      );
    });

    afterAll(async () => {
      await app?.close();
      await proxy?.stop();
      await database?.drop();
    });

    it('answers 503 with the token store down and why, never a 500, and up once the database is back', async () => {
      const health = () => request(app.getHttpServer()).get('/health');
      await health().expect(200);

      await proxy.cut();
      const down = await health();
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({
        status: 'error',
        error: { accessTokens: { status: 'down', tokenStore: 'down' } },
      });
      expect(['store_unavailable', 'store_timeout']).toContain(down.body.error.accessTokens.reason);

      await proxy.restore();
      // The pool finds its dead connections on use: allow it a few checks to reconnect.
      let status = 0;
      for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
        status = (await health()).status;
        expect([200, 503]).toContain(status);
      }
      expect(status).toBe(200);
    });
  },
);
