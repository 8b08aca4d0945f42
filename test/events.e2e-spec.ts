import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Injectable, type INestApplication, type Provider } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { DataSource, type EntitySubscriberInterface } from 'typeorm';
import {
  ACCESS_TOKEN_EVENTS,
  AccessTokenEvents,
  AccessTokensModule,
  TokensService,
  type AccessTokenEventMap,
  type AccessTokensModuleOptions,
} from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, FixtureAppModule, Member } from './fixtures/fixture-app.module.js';
import { createAppOn, HTTP_ADAPTERS, type HttpAdapterName } from './fixtures/http-adapters.js';
import { TokenAudit } from './fixtures/token-audit.listener.js';

const MEMBER = 'events-member';
const EVENT_NAMES = Object.keys(ACCESS_TOKEN_EVENTS) as (keyof AccessTokenEventMap)[];

/** Listeners that fail later: `@OnEvent()` methods whose errors Nest does not suppress, so their promises reject. */
@Injectable()
class FailingListener {
  @OnEvent(ACCESS_TOKEN_EVENTS.issued, { suppressErrors: false })
  async issued() {
    throw new Error('the audit database is away');
  }

  @OnEvent(ACCESS_TOKEN_EVENTS.verification_failed, { suppressErrors: false })
  async refused() {
    throw new Error('the alerting service is away');
  }
}

/** Makes the commits of transactions fail while armed, once all their writes are done, as a lost connection would. */
class FailingCommits implements EntitySubscriberInterface {
  armed = false;

  beforeTransactionCommit() {
    if (this.armed) throw new Error('the commit failed');
  }
}

/** An app of the fixture's with `extra` imports and providers, on `adapter`, its member saved. */
async function startApp(
  database: TestDatabase,
  {
    adapter = 'express',
    options = FIXTURE_OPTIONS,
    imports = [EventEmitterModule.forRoot()],
    providers = [TokenAudit],
  }: {
    adapter?: HttpAdapterName;
    options?: AccessTokensModuleOptions;
    imports?: NonNullable<Parameters<typeof Test.createTestingModule>[0]['imports']>;
    providers?: Provider[];
  } = {},
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [...imports, FixtureAppModule.forRoot(database.options, AccessTokensModule.forRoot(options))],
    providers,
  }).compile();
  const app = await createAppOn(moduleRef, adapter, { logger: false });
  await app
    .get(DataSource)
    .getRepository(Member)
    .save({ memberId: MEMBER, login: 'events', secret: 'h', disabled: false, bio: null, grants: ['*'] });
  return app;
}

/** Every event `AccessTokenEvents.on()` gets, in order. */
function typedListener(app: INestApplication): { event: string; payload: object }[] {
  const received: { event: string; payload: object }[] = [];
  const events = app.get(AccessTokenEvents);
  for (const event of EVENT_NAMES) events.on(event, (payload) => void received.push({ event, payload }));
  return received;
}

const sha256 = (raw: string) => createHash('sha256').update(raw).digest('hex');

/**
 * The module's events as an app with @nestjs/event-emitter receives them: `@OnEvent()` listeners get
 * each event as `access-tokens.<name>`, with the payload of the typed listeners, after the change
 * committed; a refusal carries the client's address; nothing of a rolled-back change is announced.
 */
describe.each(HTTP_ADAPTERS)(
  `events through @nestjs/event-emitter on $server, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    let database: TestDatabase;
    let app: INestApplication;
    let tokens: TokensService;
    let audit: TokenAudit;
    let typed: { event: string; payload: object }[];
    const failing = new FailingCommits();
    /** Every raw token the suite made: none may show in any event. */
    const raws: string[] = [];
    /** Every event the app's EventEmitter2 carried, whatever its name. */
    const carried: { name: string; payload: unknown }[] = [];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);

    beforeAll(async () => {
      process.on('unhandledRejection', onUnhandled);
      database = await createTestDatabase();
      app = await startApp(database, { adapter, providers: [TokenAudit, FailingListener] });
      tokens = app.get(TokensService);
      audit = app.get(TokenAudit);
      typed = typedListener(app);
      app.get(EventEmitter2).onAny((name, payload) => void carried.push({ name: String(name), payload }));
      app.get(DataSource).subscribers.push(failing);
    });

    afterAll(async () => {
      process.off('unhandledRejection', onUnhandled);
      await app?.close();
      await database?.drop();
    });

    beforeEach(() => {
      audit.entries.length = 0;
      typed.length = 0;
      failing.armed = false;
    });

    const issue = async (input: Partial<Parameters<TokensService['issue']>[1]> = {}) => {
      const issued = await tokens.issue(MEMBER, { name: 'audited', ...input });
      raws.push(issued.token);
      return issued;
    };
    const get = (token: string) => request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`);

    it('delivers issued, rotated, paused, resumed and revoked to @OnEvent listeners, as the typed listeners get them', async () => {
      const answer = await request(app.getHttpServer()).post(`/sign-in/${MEMBER}`).expect(201);
      raws.push(answer.body.token);
      const [signedIn] = audit.of('issued');
      expect(signedIn).toEqual({
        userId: MEMBER,
        tokenId: expect.any(String),
        name: 'sign-in',
        scopes: ['*'],
        expiresAt: expect.any(Date),
      });
      const { accessToken } = await issue();
      const rotated = await tokens.rotate(MEMBER, accessToken.id, { graceSeconds: 60 });
      raws.push(rotated.token);
      const next = rotated.accessToken.id;
      await tokens.pause(MEMBER, next);
      // Already paused, then already live: no change, no event.
      await tokens.pause(MEMBER, next);
      await tokens.resume(MEMBER, next);
      await tokens.resume(MEMBER, next);
      await tokens.revoke(MEMBER, next, 'compromised');

      expect(audit.entries.map(({ event }) => event)).toEqual([
        'issued',
        'issued',
        'issued',
        'revoked',
        'rotated',
        'paused',
        'resumed',
        'revoked',
      ]);
      expect(audit.of('rotated')).toEqual([
        { userId: MEMBER, tokenId: accessToken.id, newTokenId: next, graceSeconds: 60 },
      ]);
      expect(audit.of('revoked')).toEqual([
        { userId: MEMBER, tokenIds: [accessToken.id], reason: 'rotated' },
        // The rotated token, still in its grace period, goes with its successor.
        { userId: MEMBER, tokenIds: expect.arrayContaining([accessToken.id, next]), reason: 'compromised' },
      ]);
      expect(audit.of('paused')).toEqual([{ userId: MEMBER, tokenId: next }]);
      expect(audit.of('resumed')).toEqual([{ userId: MEMBER, tokenId: next }]);
      // The same events, the same payloads, to both kinds of listener.
      expect(audit.entries).toEqual(typed);
    });

    it("announces refusals with their reason, the client's address, and the token when known", async () => {
      const paused = await issue();
      await tokens.pause(MEMBER, paused.accessToken.id);
      const limited = await issue({ rateLimit: { limit: 1, window: 3600 } });
      const elsewhere = await issue({ allowedIps: ['10.9.8.7'] });
      audit.entries.length = 0;

      await get('fx_not-a-token').expect(401);
      expect((await get(paused.token).expect(401)).body.reason).toBe('paused');
      await get(limited.token).expect(200);
      expect((await get(limited.token).expect(429)).body.reason).toBe('rate_limited');
      expect((await get(elsewhere.token).expect(403)).body.reason).toBe('ip_not_allowed');

      // The address as the server read it, an IPv4-mapped one (::ffff:127.0.0.1) as the IPv4 address it is.
      const address = '127.0.0.1';
      expect(audit.of('verification_failed')).toEqual([
        { reason: 'malformed', tokenId: null, userId: null, address },
        { reason: 'paused', tokenId: paused.accessToken.id, userId: MEMBER, address },
        { reason: 'rate_limited', tokenId: limited.accessToken.id, userId: MEMBER, address },
        { reason: 'ip_not_allowed', tokenId: elsewhere.accessToken.id, userId: MEMBER, address },
      ]);
      expect(audit.entries).toEqual(typed.filter(({ event }) => event === 'verification_failed'));
    });

    it('announces a refusal without a request with no address', async () => {
      const { token, accessToken } = await issue();
      await tokens.revoke(MEMBER, accessToken.id);
      await expect(tokens.verify(token)).rejects.toMatchObject({ code: 'revoked' });
      await expect(tokens.verify('fx_short')).rejects.toMatchObject({ code: 'malformed' });
      expect(audit.of('verification_failed')).toEqual([
        { reason: 'revoked', tokenId: accessToken.id, userId: MEMBER, address: null },
        { reason: 'malformed', tokenId: null, userId: null, address: null },
      ]);
    });

    describe('announces nothing of a change whose transaction rolls back', () => {
      // A token's first use, recorded when a test uses it after the rollback, is no part of the change.
      afterEach(() => {
        expect(audit.entries.filter(({ event }) => event !== 'first_used')).toEqual([]);
        expect(typed.filter(({ event }) => event !== 'first_used')).toEqual([]);
      });

      it("revokeAll() in the app's transaction", async () => {
        const { token } = await issue();
        audit.entries.length = typed.length = 0;
        const rollback = new Error('the rest of the change failed');
        await expect(
          app.get(DataSource).transaction(async (manager) => {
            expect(await tokens.revokeAll(MEMBER, 'account_closed', manager)).toBeGreaterThan(0);
            throw rollback;
          }),
        ).rejects.toBe(rollback);
        await get(token).expect(200);
      });

      it('a rotation whose commit fails', async () => {
        const { token, accessToken } = await issue({ name: 'rotated in vain' });
        audit.entries.length = typed.length = 0;
        failing.armed = true;
        await expect(tokens.rotate(MEMBER, accessToken.id, { graceSeconds: 60 })).rejects.toThrow('the commit failed');
        failing.armed = false;
        await get(token).expect(200);
        // Its successor was stored, then rolled back with the rest.
        expect((await tokens.list(MEMBER)).filter((view) => view.name === 'rotated in vain')).toHaveLength(1);
      });

      it('a pause and a resume whose commits fail', async () => {
        const { token, accessToken } = await issue();
        audit.entries.length = typed.length = 0;
        failing.armed = true;
        await expect(tokens.pause(MEMBER, accessToken.id)).rejects.toThrow('the commit failed');
        failing.armed = false;
        expect(audit.entries).toEqual([]);
        await get(token).expect(200);
        await tokens.pause(MEMBER, accessToken.id);
        audit.entries.length = typed.length = 0;
        failing.armed = true;
        await expect(tokens.resume(MEMBER, accessToken.id)).rejects.toThrow('the commit failed');
        failing.armed = false;
        expect(audit.entries).toEqual([]);
        expect(typed).toEqual([]);
        // Still paused.
        expect((await get(token).expect(401)).body.reason).toBe('paused');
        audit.entries.length = typed.length = 0;
      });
    });

    it('lets requests and changes through when listeners throw, at once or later', async () => {
      // FailingListener's methods reject at every issue and refusal; these throw at once.
      const emitter = app.get(EventEmitter2);
      const throwing = () => {
        throw new Error('a listener that throws at once');
      };
      emitter.on(ACCESS_TOKEN_EVENTS.paused, throwing);
      emitter.on(ACCESS_TOKEN_EVENTS.revoked, throwing);
      try {
        const answer = await request(app.getHttpServer()).post(`/sign-in/${MEMBER}`).expect(201);
        raws.push(answer.body.token);
        await get(answer.body.token).expect(200);
        await get('fx_not-a-token').expect(401);
        const { accessToken } = await issue();
        await tokens.pause(MEMBER, accessToken.id);
        await tokens.revoke(MEMBER, accessToken.id);
      } finally {
        emitter.off(ACCESS_TOKEN_EVENTS.paused, throwing);
        emitter.off(ACCESS_TOKEN_EVENTS.revoked, throwing);
      }
      expect(audit.entries.map(({ event }) => event)).toEqual([
        'issued',
        'verification_failed',
        'issued',
        'paused',
        'revoked',
      ]);
      // The rejections, at every issue and refusal of the suite, were all caught.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    });

    it('never carries a raw token or its hash in any payload', () => {
      // Run last: every event of the suite, as EventEmitter2 carried it.
      expect(raws.length).toBeGreaterThan(8);
      expect(new Set(carried.map(({ name }) => name))).toEqual(
        new Set(
          ['issued', 'revoked', 'rotated', 'paused', 'resumed', 'first_used', 'verification_failed'].map(
            (e) => `access-tokens.${e}`,
          ),
        ),
      );
      const everything = JSON.stringify(carried);
      for (const raw of raws) {
        expect(everything).not.toContain(raw);
        expect(everything).not.toContain(raw.slice(raw.indexOf('_') + 1, -6));
        expect(everything).not.toContain(sha256(raw));
      }
    });
  },
);

/** Apps that do not bridge, and apps side by side: on Express, as the server makes no difference here. */
describe(`events without @nestjs/event-emitter's bridge, on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  const apps: INestApplication[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => undefined);
    await database?.drop();
  });

  /** Issues a token in `app`, uses it, and presents a malformed one: what its listeners then got. */
  async function exercise(app: INestApplication): Promise<{ typed: string[] }> {
    const typed = typedListener(app);
    const { token } = await app.get(TokensService).issue(MEMBER, { name: 'unbridged' });
    await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(200);
    await request(app.getHttpServer()).get('/reports').set('Authorization', 'Bearer fx_nope').expect(401);
    return { typed: typed.map(({ event }) => event) };
  }

  it('works without EventEmitterModule, the typed listeners getting every event', async () => {
    const app = await startApp(database, { imports: [] });
    apps.push(app);
    expect(await exercise(app)).toEqual({ typed: ['issued', 'verification_failed'] });
    // Its @OnEvent() methods are plain methods there: nothing calls them.
    expect(app.get(TokenAudit).entries).toEqual([]);
  });

  it("emits nothing on the app's EventEmitter2 with events: { eventEmitter: false }", async () => {
    const app = await startApp(database, { options: { ...FIXTURE_OPTIONS, events: { eventEmitter: false } } });
    apps.push(app);
    const carried: unknown[] = [];
    app.get(EventEmitter2).onAny((name) => void carried.push(name));
    expect(await exercise(app)).toEqual({ typed: ['issued', 'verification_failed'] });
    expect(app.get(TokenAudit).entries).toEqual([]);
    expect(carried).toEqual([]);
  });

  it('bridges each app of a process to its own EventEmitter2, wildcards and all', async () => {
    const first = await startApp(database);
    const second = await startApp(database, { imports: [EventEmitterModule.forRoot({ wildcard: true })] });
    apps.push(first, second);
    const everything: string[] = [];
    second.get(EventEmitter2).on('access-tokens.*', function (this: { event: string }) {
      everything.push(this.event);
    });
    await exercise(second);
    expect(first.get(TokenAudit).entries).toEqual([]);
    expect(second.get(TokenAudit).entries.map(({ event }) => event)).toEqual(['issued', 'verification_failed']);
    expect(everything).toEqual([ACCESS_TOKEN_EVENTS.issued, ACCESS_TOKEN_EVENTS.verification_failed]);
    await exercise(first);
    expect(first.get(TokenAudit).entries.map(({ event }) => event)).toEqual(['issued', 'verification_failed']);
    expect(second.get(TokenAudit).entries).toHaveLength(2);
  });
});
