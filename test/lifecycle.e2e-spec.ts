import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource, type Repository } from 'typeorm';
import {
  AccessTokenEvents,
  TokensService,
  type AccessTokenEventMap,
  type AccessTokensModuleOptions,
} from 'nestjs-access-tokens';
import { TokenMaintenance } from '#internal';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { ManualClock } from 'nestjs-access-tokens/testing';
import { FIXTURE_OPTIONS, Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { QueryCounter } from './fixtures/query-counter.js';

const DAY = 24 * 3600;

describe.each(HTTP_ADAPTERS)(`token lifecycle on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  const clock = new ManualClock();
  const queries = new QueryCounter();
  const options = {
    ...FIXTURE_OPTIONS,
    clock,
    tokens: { ...FIXTURE_OPTIONS.tokens, idleTimeoutSeconds: 3600, maxPerUser: 3 },
    maintenance: { retentionSeconds: DAY, expiringNoticeSeconds: DAY },
  } satisfies AccessTokensModuleOptions;
  let database: TestDatabase;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let tokens: TokensService;
  let members: Repository<Member>;
  let member: string;
  let seq = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startFixtureApp(database, options, { queries, adapter });
    http = request(app.getHttpServer());
    tokens = app.get(TokensService);
    members = app.get(DataSource).getRepository(Member);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  beforeEach(async () => {
    seq += 1;
    member = `m-${seq}`;
    await members.save({
      memberId: member,
      login: `member${seq}`,
      secret: 'h',
      disabled: false,
      bio: null,
      grants: ['reports:*'],
    });
  });

  const get = (token: string) => http.get('/reports').set('Authorization', `Bearer ${token}`);
  /** Lets the off-request `lastUsedAt` writes land (list() waits for them). */
  const settle = () => tokens.list(member);

  describe('idle expiry', () => {
    it('expires a token unused for tokens.idleTimeoutSeconds, and each use pushes it on', async () => {
      const { token } = await tokens.issue(member, { name: 'idle' });
      clock.advance(3000);
      await get(token).expect(200);
      await settle();
      clock.advance(3599);
      await get(token).expect(200);
      await settle();
      clock.advance(3600);
      const response = await get(token).expect(401);
      expect(response.body).toMatchObject({ reason: 'expired', message: 'The access token expired (idle)' });
    });

    it('expires a token never used', async () => {
      const { token } = await tokens.issue(member, { name: 'never used' });
      clock.advance(3600);
      expect((await get(token).expect(401)).body.reason).toBe('expired');
    });
  });

  describe('retention and pruning', () => {
    it('answers revoked and expired during the retention window; once pruned, unknown, or expired by its signature', async () => {
      const revoked = await tokens.issue(member, { name: 'revoked' });
      const expiring = await tokens.issue(member, { name: 'expiring', expiresIn: 60 });
      await tokens.revoke(member, revoked.accessToken.id);
      clock.advance(DAY - 1);
      await tokens.prune();
      expect((await get(revoked.token).expect(401)).body.reason).toBe('revoked');
      expect((await get(expiring.token).expect(401)).body.reason).toBe('expired');
      clock.advance(61);
      expect(await tokens.prune()).toBeGreaterThanOrEqual(2);
      expect((await get(revoked.token).expect(401)).body.reason).toBe('unknown');
      // The token carries its expiry, signed: the database need not remember it.
      expect((await get(expiring.token).expect(401)).body.reason).toBe('expired');
    });

    it('is safe when several instances prune at once', async () => {
      for (let i = 0; i < 3; i++) await tokens.revokeAll(member);
      const issued = await Promise.all([1, 2, 3].map((i) => tokens.issue(member, { name: `t${i}` })));
      await tokens.revokeAll(member);
      clock.advance(DAY + 1);
      const counts = await Promise.all([tokens.prune(), tokens.prune(), tokens.prune()]);
      expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(issued.length);
      expect(await tokens.list(member)).toEqual([]);
    });

    it('runs by itself on the maintenance interval', async () => {
      const { accessToken } = await tokens.issue(member, { name: 'old' });
      await tokens.revoke(member, accessToken.id);
      clock.advance(DAY + 1);
      const pruner = await startFixtureApp(
        database,
        { ...options, maintenance: { ...options.maintenance, intervalSeconds: 1 } },
        { adapter },
      );
      try {
        const pruned = await new Promise<AccessTokenEventMap['pruned']>((resolve) =>
          pruner.get(AccessTokenEvents).on('pruned', resolve),
        );
        expect(pruned.count).toBeGreaterThanOrEqual(1);
        expect(await tokens.list(member)).toEqual([]);
      } finally {
        await pruner.close();
      }
    });

    it('leaves tokens alone with maintenance.prune: false', async () => {
      const { accessToken } = await tokens.issue(member, { name: 'kept' });
      await tokens.revoke(member, accessToken.id);
      clock.advance(DAY + 1);
      const keeper = await startFixtureApp(
        database,
        { ...options, maintenance: { ...options.maintenance, prune: false } },
        { adapter },
      );
      try {
        await keeper.get(TokenMaintenance).run();
        expect(await tokens.list(member)).toHaveLength(1);
      } finally {
        await keeper.close();
      }
    });
  });

  describe('the expiring event', () => {
    it('fires once per token, within maintenance.expiringNoticeSeconds of its expiry, across instances', async () => {
      const events: AccessTokenEventMap['expiring'][] = [];
      const stop = app.get(AccessTokenEvents).on('expiring', (event) => void events.push(event));
      try {
        const soon = await tokens.issue(member, { name: 'soon', expiresIn: 2 * DAY });
        await tokens.issue(member, { name: 'later', expiresIn: 30 * DAY });
        expect(await tokens.notifyExpiring()).toBe(0);
        clock.advance(DAY + 1);
        await Promise.all([tokens.notifyExpiring(), tokens.notifyExpiring()]);
        await tokens.notifyExpiring();
        const mine = events.filter((event) => event.userId === member);
        expect(mine).toEqual([
          { userId: member, tokenId: soon.accessToken.id, name: 'soon', expiresAt: soon.accessToken.expiresAt },
        ]);
      } finally {
        stop();
      }
    });
  });

  describe('tokens.maxPerUser', () => {
    it('refuses a live token past the limit, and counts neither revoked nor expired ones', async () => {
      const first = await tokens.issue(member, { name: 'a', expiresIn: 60 });
      const second = await tokens.issue(member, { name: 'b' });
      await tokens.issue(member, { name: 'c' });
      await expect(tokens.issue(member, { name: 'd' })).rejects.toMatchObject({ code: 'too_many_tokens' });
      await tokens.revoke(member, second.accessToken.id);
      await tokens.issue(member, { name: 'd' });
      clock.advance(60);
      expect(first.accessToken.expiresAt!.getTime()).toBeLessThanOrEqual(clock.now().getTime());
      await tokens.issue(member, { name: 'e' });
    });
  });

  describe('rotation', () => {
    it('replaces a token with one of the same name, scopes and lifetime, revoking the old at once', async () => {
      const old = await tokens.issue(member, { name: 'deploy', scopes: ['reports:read'], expiresIn: 600 });
      clock.advance(100);
      const fresh = await tokens.rotate(member, old.accessToken.id);
      expect(fresh.accessToken).toMatchObject({ name: 'deploy', scopes: ['reports:read'] });
      expect(fresh.accessToken.expiresAt!.getTime()).toBe(clock.now().getTime() + 600_000);
      await get(fresh.token).expect(200);
      const refused = await get(old.token).expect(401);
      expect(refused.body).toMatchObject({ reason: 'revoked', revokedReason: 'rotated' });
    });

    it('keeps the old token working for the grace period only', async () => {
      const old = await tokens.issue(member, { name: 'graceful' });
      await tokens.rotate(member, old.accessToken.id, { graceSeconds: 30 });
      clock.advance(29);
      await get(old.token).expect(200);
      clock.advance(1);
      expect((await get(old.token).expect(401)).body.revokedReason).toBe('rotated');
    });

    it("refuses to rotate a dead token or another user's", async () => {
      const old = await tokens.issue(member, { name: 'dead' });
      await tokens.revoke(member, old.accessToken.id);
      await expect(tokens.rotate(member, old.accessToken.id)).rejects.toMatchObject({ code: 'token_not_live' });
      await expect(tokens.rotate('someone-else', old.accessToken.id)).rejects.toMatchObject({
        code: 'token_not_found',
      });
      await expect(tokens.rotate(member, old.accessToken.id, { graceSeconds: -1 })).rejects.toMatchObject({
        code: 'invalid_expiry',
      });
    });

    it('lets a credentials change end a grace period at once', async () => {
      const old = await tokens.issue(member, { name: 'grace' });
      await tokens.rotate(member, old.accessToken.id, { graceSeconds: 3600 });
      await members.save({ memberId: member, secret: 'changed' });
      expect((await get(old.token).expect(401)).body.revokedReason).toBe('password_changed');
    });
  });

  describe('renaming', () => {
    it("renames a token, and only the owner's", async () => {
      const { accessToken } = await tokens.issue(member, { name: 'before' });
      expect(await tokens.rename(member, accessToken.id, '  after  ')).toMatchObject({ name: 'after' });
      expect((await tokens.list(member))[0]!.name).toBe('after');
      await expect(tokens.rename('someone-else', accessToken.id, 'x')).rejects.toMatchObject({
        code: 'token_not_found',
      });
      await expect(tokens.rename(member, accessToken.id, ' ')).rejects.toMatchObject({ code: 'invalid_token_name' });
    });
  });

  describe('last used', () => {
    it('writes lastUsedAt once for 1,000 requests within tokens.lastUsedIntervalSeconds, off the request path', async () => {
      const { token } = await tokens.issue(member, { name: 'busy' });
      const writes = await queries.during(async () => {
        for (let batch = 0; batch < 20; batch++) {
          await Promise.all(Array.from({ length: 50 }, () => get(token).expect(200)));
        }
        await settle();
      });
      const updates = writes.filter((query) => /^UPDATE\W+access_tokens/i.test(query));
      expect(updates).toHaveLength(1);
      expect((await tokens.list(member))[0]!.lastUsedAt).toEqual(clock.now());
      clock.advance(60);
      await get(token).expect(200);
      expect((await tokens.list(member))[0]!.lastUsedAt).toEqual(clock.now());
    });

    it('writes the first uses of 40 tokens in one statement, not one per token', async () => {
      const owners = Array.from({ length: 40 }, (_, i) => `${member}-${i}`);
      await members.save(
        owners.map((memberId) => ({
          memberId,
          login: memberId,
          secret: 'h',
          disabled: false,
          bio: null,
          grants: ['reports:*'],
        })),
      );
      const issued = await Promise.all(owners.map((owner) => tokens.issue(owner, { name: 'first use' })));
      const writes = await queries.during(async () => {
        await Promise.all(issued.map(({ token }) => get(token).expect(200)));
        await settle();
      });
      expect(writes.filter((query) => /^UPDATE\W+access_tokens/i.test(query))).toHaveLength(1);
      for (const owner of owners) expect((await tokens.list(owner))[0]!.lastUsedAt).toEqual(clock.now());
    });
  });
});
