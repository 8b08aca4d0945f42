import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { DataSource, type Repository } from 'typeorm';
import { AccessTokenEvents, TokensService, type AccessTokenEventMap } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';

/** Revokes when the member's grants change: an app's own policy on top of the watched fields. */
const shouldRevoke = (before: object, after: object) =>
  JSON.stringify((before as Member).grants) !== JSON.stringify((after as Member).grants) && 'permissions_changed';

describe.each(HTTP_ADAPTERS)(`automatic revocation on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let tokens: TokensService;
  let dataSource: DataSource;
  let members: Repository<Member>;
  let events: { [E in 'issued' | 'revoked' | 'verification_failed']: AccessTokenEventMap[E][] };
  let member: Member;
  let seq = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startFixtureApp(database, { ...FIXTURE_OPTIONS, revocation: { shouldRevoke } }, { adapter });
    http = request(app.getHttpServer());
    tokens = app.get(TokensService);
    dataSource = app.get(DataSource);
    members = dataSource.getRepository(Member);
    events = { issued: [], revoked: [], verification_failed: [] };
    const bus = app.get(AccessTokenEvents);
    bus.on('issued', (e) => void events.issued.push(e));
    bus.on('revoked', (e) => void events.revoked.push(e));
    bus.on('verification_failed', (e) => void events.verification_failed.push(e));
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  beforeEach(async () => {
    seq += 1;
    member = await members.save({
      memberId: `m-${seq}`,
      login: `member${seq}`,
      secret: 'hash-1',
      disabled: false,
      bio: null,
      grants: ['reports:read'],
    });
    for (const list of Object.values(events)) list.length = 0;
  });

  const issue = async (name = 'token') => (await tokens.issue(member.memberId, { name })).token;
  const get = (token: string) => http.get('/reports').set('Authorization', `Bearer ${token}`);
  const sql = (text: string) =>
    database.kind === 'postgres'
      ? text.replace(/\?/g, (_, i: number) => `$${text.slice(0, i).split('?').length}`)
      : text;

  async function expectRevoked(token: string, reason: string): Promise<void> {
    const response = await get(token).expect(401);
    expect(response.headers['www-authenticate']).toContain(`error="invalid_token"`);
    expect(response.headers['www-authenticate']).toContain(`(${reason})`);
    expect(response.body).toMatchObject({ reason: 'revoked', revokedReason: reason });
  }

  /** Refused as a blocked user's token, with no revocation's reason. */
  async function expectUserBlocked(token: string): Promise<void> {
    const response = await get(token).expect(401);
    expect(response.headers['www-authenticate']).toContain(`error="invalid_token"`);
    expect(response.body).toMatchObject({ reason: 'user_blocked' });
    expect(response.body).not.toHaveProperty('revokedReason');
  }

  describe('through save(), in the same transaction', () => {
    it('revokes every token of the user when the password hash changes', async () => {
      const [first, second] = [await issue('a'), await issue('b')];
      await get(first).expect(200);
      member.secret = 'hash-2';
      await members.save(member);
      await expectRevoked(first, 'password_changed');
      await expectRevoked(second, 'password_changed');
      expect(events.revoked).toEqual([
        { userId: member.memberId, tokenIds: expect.any(Array), reason: 'password_changed' },
      ]);
      expect(events.revoked[0]!.tokenIds).toHaveLength(2);
    });

    it('revokes when the user name changes', async () => {
      const token = await issue();
      await members.save({ ...member, login: `renamed${seq}` });
      await expectRevoked(token, 'username_changed');
    });

    it('revokes when the user is blocked, refused as user_blocked meanwhile; unblocking does not bring the tokens back', async () => {
      const token = await issue();
      await members.save({ ...member, disabled: true });
      // Revoked in the block's transaction, but answered as a blocked user's while the block lasts.
      await expectUserBlocked(token);
      expect(events.revoked).toEqual([{ userId: member.memberId, tokenIds: [expect.any(String)], reason: 'blocked' }]);
      expect((await tokens.list(member.memberId)).map((t) => t.revokedReason)).toEqual(['blocked']);
      await members.save({ ...member, disabled: false });
      await expectRevoked(token, 'blocked');
      await get(await issue('after unblocking')).expect(200);
    });

    it('leaves tokens alone when an unwatched field changes', async () => {
      const token = await issue();
      await members.save({ ...member, bio: 'likes reports' });
      await get(token).expect(200);
      expect(events.revoked).toEqual([]);
    });

    it("applies the app's own policy, with its reason", async () => {
      const token = await issue();
      await members.save({ ...member, grants: ['reports:read', 'reports:export'] });
      await expectRevoked(token, 'permissions_changed');
    });

    it('revokes nothing when the transaction rolls back, and announces nothing', async () => {
      const token = await issue();
      await expect(
        dataSource.transaction(async (manager) => {
          await manager.save(Member, { ...member, secret: 'hash-rolled-back' });
          throw new Error('roll back');
        }),
      ).rejects.toThrow('roll back');
      await get(token).expect(200);
      expect(events.revoked).toEqual([]);
    });

    it('revokes once the surrounding transaction commits, and announces it only then', async () => {
      const token = await issue();
      await dataSource.transaction(async (manager) => {
        await manager.save(Member, { ...member, secret: 'hash-in-transaction' });
        expect(events.revoked).toEqual([]);
      });
      expect(events.revoked).toHaveLength(1);
      await expectRevoked(token, 'password_changed');
    });

    it('revokes the tokens of a removed user', async () => {
      const token = await issue();
      await members.remove(await members.findOneByOrFail({ memberId: member.memberId }));
      await expectRevoked(token, 'user_deleted');
      expect(events.revoked).toEqual([{ userId: `m-${seq}`, tokenIds: [expect.any(String)], reason: 'user_deleted' }]);
    });
  });

  describe('through writes no subscriber sees, caught at verification', () => {
    it('refuses tokens after repository.update() of the password hash', async () => {
      const [first, second] = [await issue('a'), await issue('b')];
      await members.update({ memberId: member.memberId }, { secret: 'hash-2' });
      await expectRevoked(first, 'credentials_changed');
      // The first refusal revoked all the tokens the change made stale.
      const list = await tokens.list(member.memberId);
      expect(list.map((t) => t.revokedReason)).toEqual(['credentials_changed', 'credentials_changed']);
      await expectRevoked(second, 'credentials_changed');
      const fresh = await issue('after the change');
      await get(fresh).expect(200);
    });

    it('refuses tokens after a query-builder update of the user name', async () => {
      const token = await issue();
      await dataSource
        .createQueryBuilder()
        .update(Member)
        .set({ login: `qb${seq}` })
        .where('memberId = :id', { id: member.memberId })
        .execute();
      await expectRevoked(token, 'credentials_changed');
    });

    it('refuses tokens after raw SQL changes the password hash', async () => {
      const token = await issue();
      await dataSource.query(sql('UPDATE members SET secret = ? WHERE member_id = ?'), ['hash-raw', member.memberId]);
      await expectRevoked(token, 'credentials_changed');
    });

    it('refuses tokens of a user blocked by raw SQL, for good', async () => {
      const token = await issue();
      const blocked = database.kind === 'postgres' ? 'true' : '1';
      const unblocked = database.kind === 'postgres' ? 'false' : '0';
      await dataSource.query(sql(`UPDATE members SET disabled = ${blocked} WHERE member_id = ?`), [member.memberId]);
      await expectUserBlocked(token);
      // The first refusal revoked it; while the user stays blocked, it still answers as the block.
      expect((await tokens.list(member.memberId)).map((t) => t.revokedReason)).toEqual(['blocked']);
      await expectUserBlocked(token);
      await dataSource.query(sql(`UPDATE members SET disabled = ${unblocked} WHERE member_id = ?`), [member.memberId]);
      await expectRevoked(token, 'blocked');
    });

    it('keeps tokens working after update() of an unwatched field', async () => {
      const token = await issue();
      await members.update({ memberId: member.memberId }, { bio: 'changed unseen' });
      await get(token).expect(200);
    });

    it('refuses the tokens of a user deleted with delete()', async () => {
      const token = await issue();
      await members.delete({ memberId: member.memberId });
      await expectRevoked(token, 'user_deleted');
    });
  });

  it('announces issuing and refusals without ever carrying a raw token', async () => {
    const token = await issue('audited');
    // The last character changed, whatever it was (a fixed one would be the same 1 time in 62).
    await get(`${token.slice(0, -1)}${token.endsWith('x') ? 'y' : 'x'}`).expect(401);
    await members.update({ memberId: member.memberId }, { secret: 'hash-unseen' });
    await get(token).expect(401);
    expect(events.issued).toEqual([
      {
        userId: member.memberId,
        tokenId: expect.any(String),
        name: 'audited',
        scopes: ['*'],
        expiresAt: expect.any(Date),
      },
    ]);
    expect(events.verification_failed).toEqual([
      { reason: 'malformed', tokenId: null, userId: null, address: '127.0.0.1' },
      { reason: 'revoked', tokenId: events.issued[0]!.tokenId, userId: member.memberId, address: '127.0.0.1' },
    ]);
    expect(events.revoked).toEqual([
      { userId: member.memberId, tokenIds: [events.issued[0]!.tokenId], reason: 'credentials_changed' },
    ]);
    expect(JSON.stringify(events)).not.toContain(token.slice(3, 40));
  });

  it('lets no request with an old token through once a password change has committed', async () => {
    const old = await Promise.all([issue('a'), issue('b'), issue('c')]);
    const results: { startedAt: number; status: number }[] = [];
    let committedAt = Infinity;
    const worker = async (token: string) => {
      let afterCommit = 0;
      while (afterCommit < 15) {
        const startedAt = performance.now();
        const { status } = await get(token);
        results.push({ startedAt, status });
        if (startedAt > committedAt) afterCommit += 1;
        if (results.length > 2000) throw new Error('the password change never took effect');
      }
    };
    const workers = old.map(worker);
    while (results.length < 10) await new Promise((resolve) => setImmediate(resolve));
    await members.save({ ...member, secret: 'hash-concurrent' });
    committedAt = performance.now();
    await Promise.all(workers);
    const before = results.filter((r) => r.startedAt < committedAt);
    const after = results.filter((r) => r.startedAt > committedAt);
    expect(before.some((r) => r.status === 200)).toBe(true);
    expect(after.length).toBeGreaterThanOrEqual(45);
    expect(after.filter((r) => r.status !== 401)).toEqual([]);
  });
});

describe('two apps in one process', () => {
  it("never see each other's user changes, and unregister when they stop", async () => {
    const [dbA, dbB] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    const [appA, appB] = [
      await startFixtureApp(dbA, { ...FIXTURE_OPTIONS, revocation: { shouldRevoke } }),
      await startFixtureApp(dbB, { ...FIXTURE_OPTIONS, revocation: { shouldRevoke } }),
    ];
    try {
      const tokenOf = async (app: INestApplication) => {
        await app
          .get(DataSource)
          .getRepository(Member)
          .save({ memberId: 'm-same', login: 'same', secret: 'h', disabled: false, bio: null, grants: ['*'] });
        return (await app.get(TokensService).issue('m-same', { name: 'x' })).token;
      };
      const [tokenA, tokenB] = [await tokenOf(appA), await tokenOf(appB)];
      await appA.get(DataSource).getRepository(Member).save({ memberId: 'm-same', secret: 'changed' });
      await expect(appA.get(TokensService).verify(tokenA)).rejects.toMatchObject({ code: 'revoked' });
      await expect(appB.get(TokensService).verify(tokenB)).resolves.toMatchObject({ accessToken: { revokedAt: null } });

      const dataSourceB = appB.get(DataSource);
      const subscribers = dataSourceB.subscribers.length;
      await appB.close();
      expect(dataSourceB.subscribers.length).toBe(subscribers - 1);
    } finally {
      await appA.close();
      await appB.close().catch(() => undefined);
      await Promise.all([dbA.drop(), dbB.drop()]);
    }
  });
});
