import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Catch,
  HttpException,
  HttpStatus,
  Module,
  type ArgumentsHost,
  type DynamicModule,
  type ExceptionFilter,
  type INestApplication,
} from '@nestjs/common';
import { APP_FILTER, BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AccessTokensModule, TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, FixtureAppModule, Member } from './fixtures/fixture-app.module.js';
import { createAppOn, HTTP_ADAPTERS, type HttpAdapterName } from './fixtures/http-adapters.js';

/** The catch-all filter of the NestJS docs ("Catch everything"): its own body, the exception's status. */
@Catch()
class CatchEverythingFilter implements ExceptionFilter {
  constructor(private readonly httpAdapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const { httpAdapter } = this.httpAdapterHost;
    const ctx = host.switchToHttp();
    const httpStatus = exception instanceof HttpException ? exception.getStatus() : HttpStatus.INTERNAL_SERVER_ERROR;
    const responseBody = { statusCode: httpStatus, path: httpAdapter.getRequestUrl(ctx.getRequest()) as string };
    httpAdapter.reply(ctx.getResponse(), responseBody, httpStatus);
  }
}

/** The other catch-all of the docs: extends Nest's base filter, which answers an HttpException with its body. */
@Catch()
class AllExceptionsFilter extends BaseExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    super.catch(exception, host);
  }
}

type Filter = typeof CatchEverythingFilter | typeof AllExceptionsFilter;

@Module({})
class FilteredAppModule {
  static forRoot(database: TestDatabase, filter: Filter | null, tokens?: DynamicModule): DynamicModule {
    return {
      module: FilteredAppModule,
      imports: [FixtureAppModule.forRoot(database.options, tokens)],
      providers: filter ? [{ provide: APP_FILTER, useClass: filter }] : [],
    };
  }
}

async function start(
  database: TestDatabase,
  filter: Filter,
  registration: 'useGlobalFilters' | 'APP_FILTER' | 'none',
  adapter: HttpAdapterName,
  tokens?: DynamicModule,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [FilteredAppModule.forRoot(database, registration === 'APP_FILTER' ? filter : null, tokens)],
  }).compile();
  return createAppOn(moduleRef, adapter, {
    logger: false,
    configure: (app) => {
      if (registration !== 'useGlobalFilters') return;
      const adapterHost = app.get(HttpAdapterHost);
      app.useGlobalFilters(
        filter === CatchEverythingFilter
          ? new CatchEverythingFilter(adapterHost)
          : new AllExceptionsFilter(adapterHost.httpAdapter),
      );
    },
  });
}

const refusals = [
  { name: 'no credentials', headers: {}, status: 401, reason: 'credentials_missing', path: '/reports' },
  {
    name: 'a garbage token',
    headers: { Authorization: 'Bearer fx_garbage' },
    status: 401,
    reason: 'malformed',
    path: '/reports',
  },
  {
    name: 'a malformed header',
    headers: { Authorization: 'Bearer a b' },
    status: 400,
    reason: 'invalid_request',
    path: '/reports',
  },
  { name: 'a missing scope', headers: 'read-only', status: 403, reason: 'insufficient_scope', path: '/reports/export' },
  { name: 'a revoked token through Passport', headers: 'revoked', status: 401, reason: 'revoked', path: '/passport' },
] as const;

describe.each(HTTP_ADAPTERS)(
  `refusals under the app's own catch-all exception filters on $server, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    let database: TestDatabase;
    let readOnly: string;
    let revoked: string;

    beforeAll(async () => {
      database = await createTestDatabase();
      const app = await start(database, AllExceptionsFilter, 'none', adapter);
      await app
        .get(DataSource)
        .getRepository(Member)
        .insert({ memberId: 'm-ann', login: 'ann', secret: 'x', disabled: false, grants: ['reports:*'] });
      const tokens = app.get(TokensService);
      readOnly = (await tokens.issue('m-ann', { name: 'read only', scopes: ['reports:read'] })).token;
      const issued = await tokens.issue('m-ann', { name: 'revoked' });
      await tokens.revoke('m-ann', issued.accessToken.id);
      revoked = issued.token;
      await app.close();
    });

    afterAll(async () => {
      await database?.drop();
    });

    const headersOf = (headers: (typeof refusals)[number]['headers']): Record<string, string> =>
      headers === 'read-only'
        ? { Authorization: `Bearer ${readOnly}` }
        : headers === 'revoked'
          ? { Authorization: `Bearer ${revoked}` }
          : headers;

    describe.each([
      ["the docs' CatchEverythingFilter", CatchEverythingFilter],
      ['a BaseExceptionFilter subclass', AllExceptionsFilter],
    ] as const)('%s', (_name, filter) => {
      describe.each(['useGlobalFilters', 'APP_FILTER'] as const)('registered with %s', (registration) => {
        let app: INestApplication;
        let http: ReturnType<typeof request>;

        beforeAll(async () => {
          app = await start(database, filter, registration, adapter);
          http = request(app.getHttpServer());
        });

        afterAll(async () => {
          await app?.close();
        });

        it.each(refusals)('answers $name with $status, never 500', async ({ headers, status, reason, path }) => {
          const response = await http.get(path).set(headersOf(headers));
          expect(response.status).toBe(status);
          if (filter === AllExceptionsFilter) {
            expect(response.body).toMatchObject({ statusCode: status, reason });
          }
          // The module's guards set the challenge as they refuse; Passport gives a strategy no response.
          if (path !== '/passport') expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="fixture"/);
        });
      });
    });

    describe("with exceptionFilter: false, under Nest's own filter", () => {
      let app: INestApplication;
      let http: ReturnType<typeof request>;

      beforeAll(async () => {
        app = await start(
          database,
          AllExceptionsFilter,
          'none',
          adapter,
          AccessTokensModule.forRoot({ ...FIXTURE_OPTIONS, exceptionFilter: false }),
        );
        http = request(app.getHttpServer());
      });

      afterAll(async () => {
        await app?.close();
      });

      it.each(refusals)('answers $name with $status and the same body', async ({ headers, status, reason, path }) => {
        const response = await http.get(path).set(headersOf(headers));
        expect(response.status).toBe(status);
        expect(response.body).toMatchObject({ statusCode: status, reason });
        if (path !== '/passport') expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="fixture"/);
      });
    });
  },
);
