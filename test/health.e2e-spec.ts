import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS } from './fixtures/fixture-app.module.js';
import { startHealthApp } from './fixtures/health-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';

/** Asks until `ask()` holds, for at most `ms`. */
async function eventually(ask: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!ask()) {
    if (Date.now() - start > ms) throw new Error(`not so after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `AccessTokensHealthIndicator` in a Terminus health check, on both HTTP servers: the token store
 * and the cache bus. The database's outage is in observability-outage.e2e-spec.ts (servers only).
 */
describe.each(HTTP_ADAPTERS)(`the Terminus health indicator on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  let app: INestApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startHealthApp(database.options, FIXTURE_OPTIONS, adapter);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('is up with a reachable token store and no bus', async () => {
    const answer = await request(app.getHttpServer()).get('/health').expect(200);
    expect(answer.body).toEqual({
      status: 'ok',
      info: { accessTokens: { status: 'up', tokenStore: 'up', cacheBus: 'none' } },
      error: {},
      details: { accessTokens: { status: 'up', tokenStore: 'up', cacheBus: 'none' } },
    });
  });

  describe('with a Redis cache bus', () => {
    let proxy: TcpProxy;
    let withBus: INestApplication;

    beforeAll(async () => {
      proxy = await new TcpProxy({ host: '127.0.0.1', port: 6379 }).start();
      withBus = await startHealthApp(
        database.options,
        {
          ...FIXTURE_OPTIONS,
          cache: {
            bus: {
              type: 'redis',
              url: `redis://127.0.0.1:${proxy.port}`,
              channel: `nat_test_${randomBytes(4).toString('hex')}`,
            },
          },
        },
        adapter,
      );
    });

    afterAll(async () => {
      await withBus?.close();
      await proxy?.stop();
    });

    it('is up while the bus is, and down (503) with the reason while it is lost, then up again', async () => {
      const health = () => request(withBus.getHttpServer()).get('/health');
      expect((await health().expect(200)).body.details.accessTokens).toEqual({
        status: 'up',
        tokenStore: 'up',
        cacheBus: 'up',
      });

      await proxy.cut();
      await eventually(() => withBus.get(TokensService).health().cacheBus === 'down');
      const down = await health().expect(503);
      expect(down.body).toMatchObject({
        status: 'error',
        error: { accessTokens: { status: 'down', tokenStore: 'up', cacheBus: 'down', reason: 'cache_bus_down' } },
      });

      await proxy.restore();
      await eventually(() => withBus.get(TokensService).health().cacheBus === 'up');
      await health().expect(200);
    });
  });
});
