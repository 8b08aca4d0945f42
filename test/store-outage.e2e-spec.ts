import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { errors, SessionsService, TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { TcpProxy } from './fixtures/tcp-proxy.js';

const MEMBER = 'm-outage';

/**
 * The module's own answer to the database going away, on the fixture app (no code of the demo's):
 * its connection goes through a proxy that drops every connection (the shared server stays up for
 * the other specs). Only for the databases behind a network: jest.config.js leaves this file out
 * of SQLite runs, SQLite having no server to lose.
 */
describe.each(HTTP_ADAPTERS)(`the module through a ${testDatabaseKind()} outage, on $server`, ({ adapter }) => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let tokens: TokensService;
  let sessions: SessionsService;

  beforeAll(async () => {
    database = await createTestDatabase();
    const { host, port } = database.options as DataSourceOptions & { host: string; port: number };
    proxy = await new TcpProxy({ host, port }).start();
    app = await startFixtureApp(
      { options: { ...database.options, port: proxy.port } as DataSourceOptions },
      undefined,
      { adapter },
    );
    http = request(app.getHttpServer());
    tokens = app.get(TokensService);
    sessions = app.get(SessionsService);
    await app
      .get(DataSource)
      .getRepository(Member)
      .insert({ memberId: MEMBER, login: 'olga', secret: 'x', disabled: false, grants: ['reports:*'] });
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.stop();
    await database?.drop();
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const issue = async (name: string) => (await tokens.issue(MEMBER, { name, scopes: ['reports:read'] })).token;

  /** Checks that `response` is a 503 that says when to come back; `what` names it in a failure. */
  function expectRetryLater(what: string, response: { status: number; headers: Record<string, string> }): void {
    expect({ what, status: response.status, retryAfter: response.headers['retry-after'] }).toEqual({
      what,
      status: 503,
      retryAfter: '5',
    });
  }

  /** Restores the database and waits for a token never verified before to be verified from it. */
  async function restore(): Promise<void> {
    await proxy.restore();
    const fresh = await issueOnceBack();
    // The pool finds its dead connections on use: allow it a few requests to reconnect.
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
      status = (await http.get('/reports').set(bearer(fresh))).status;
      expect([200, 503]).toContain(status);
    }
    expect(status).toBe(200);
  }

  /** A token issued as soon as the database answers again. */
  async function issueOnceBack(): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await issue(`after the outage ${attempt}`);
      } catch (error) {
        if (attempt >= 20) throw error;
      }
    }
  }

  it('answers 503 with Retry-After while the database is away, keeps cached tokens working, and recovers', async () => {
    const cached = await issue('cached');
    const uncached = await issue('uncached');
    await http.get('/reports').set(bearer(cached)).expect(200);
    const session = await sessions.start(MEMBER);

    await proxy.cut();
    // The module's services, as the app calls them: an error that means "try again shortly", not the driver's.
    await expect(sessions.refresh(session.refreshToken)).rejects.toBeInstanceOf(errors.StoreUnavailableError);
    await expect(sessions.start(MEMBER)).rejects.toBeInstanceOf(errors.StoreUnavailableError);
    // A token verified a moment ago is answered from the verification cache.
    await http
      .get('/reports')
      .set(bearer(cached))
      .expect(200, { member: MEMBER, scopes: ['reports:read'] });
    expectRetryLater('a token not cached, on a guarded route', await http.get('/reports').set(bearer(uncached)));
    expectRetryLater('a token not cached, through Passport', await http.get('/passport').set(bearer(uncached)));

    await restore();
    // Everything works again, with no restart; the refresh refused during the outage changed nothing.
    await http
      .get('/reports')
      .set(bearer(uncached))
      .expect(200, { member: MEMBER, scopes: ['reports:read'] });
    await http.get('/passport').set(bearer(uncached)).expect(200, { member: MEMBER });
    const refreshed = await sessions.refresh(session.refreshToken);
    await http.get('/passport').set(bearer(refreshed.accessToken)).expect(200, { member: MEMBER });
    const started = await sessions.start(MEMBER);
    await http.get('/passport').set(bearer(started.accessToken)).expect(200, { member: MEMBER });
    const signedIn = (await http.post(`/sign-in/${MEMBER}`).expect(201)).body as { token: string };
    await http.get('/passport').set(bearer(signedIn.token)).expect(200, { member: MEMBER });
  });

  it('rejects every TokensService and SessionsService call with StoreUnavailableError, a 503 to retry on the routes that issue', async () => {
    const { accessToken, token } = await tokens.issue(MEMBER, { name: 'managed during the outage' });
    const session = await sessions.start(MEMBER);
    await proxy.cut();
    try {
      for (const call of [
        () => tokens.list(MEMBER),
        () => tokens.page(MEMBER, { limit: 5 }),
        () => tokens.rename(MEMBER, accessToken.id, 'renamed'),
        () => tokens.rotate(MEMBER, accessToken.id),
        () => tokens.revoke(MEMBER, accessToken.id),
        () => tokens.revokeAll(MEMBER),
        () => tokens.revokeBySecret(token),
        () => sessions.end(MEMBER, session.session.sessionId!),
      ]) {
        await expect(call()).rejects.toBeInstanceOf(errors.StoreUnavailableError);
      }
      await expect(tokens.issue(MEMBER, { name: 'during the outage' })).rejects.toBeInstanceOf(
        errors.StoreUnavailableError,
      );
      expectRetryLater("the app's route that issues a token", await http.post(`/sign-in/${MEMBER}`));
    } finally {
      await restore();
    }
  });
});
