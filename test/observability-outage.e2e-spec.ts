import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { SpanStatusCode } from '@opentelemetry/api';
import request from 'supertest';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { errors, TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, Member } from './fixtures/fixture-app.module.js';
import { startHealthApp } from './fixtures/health-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';
import { TestTelemetry } from './fixtures/telemetry.js';

/**
 * The Terminus indicator and the OpenTelemetry metrics and spans while the database is away,
 * through a proxy that drops its connections. Only for the databases behind a network: jest.config.js leaves this file out of
 * SQLite runs.
 */
describe.each(HTTP_ADAPTERS)(`health and telemetry in a ${testDatabaseKind()} outage, on $server`, ({ adapter }) => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let app: INestApplication;
  const telemetry = new TestTelemetry();

  beforeAll(async () => {
    database = await createTestDatabase();
    const { host, port } = database.options as DataSourceOptions & { host: string; port: number };
    proxy = await new TcpProxy({ host, port }).start();
    app = await startHealthApp(
      { ...database.options, port: proxy.port } as DataSourceOptions,
      {
        ...FIXTURE_OPTIONS,
        telemetry: { meterProvider: telemetry.meterProvider, tracerProvider: telemetry.tracerProvider },
      },
      adapter,
    );
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.stop();
    await telemetry.shutdown();
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

  it('counts a verification the database could not make as store_unavailable, its span an error', async () => {
    await app
      .get(DataSource)
      .getRepository(Member)
      .save({ memberId: 'away', login: 'away', secret: 'h', disabled: false, bio: null, grants: ['*'] });
    const { token } = await app.get(TokensService).issue('away', { name: 'uncached' });
    telemetry.spans.reset();
    await proxy.cut();
    try {
      await expect(app.get(TokensService).verify(token)).rejects.toBeInstanceOf(errors.StoreUnavailableError);
    } finally {
      await proxy.restore();
    }
    expect(
      await telemetry.count('access_tokens.verifications', { outcome: 'store_unavailable', transport: 'direct' }),
    ).toBe(1);
    const [span] = telemetry.finishedSpans('access_tokens.verify');
    expect(span!.attributes).toEqual({ 'access_tokens.outcome': 'store_unavailable' });
    expect(span!.status.code).toBe(SpanStatusCode.ERROR);
  });
});
