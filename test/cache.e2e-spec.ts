import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource, type Repository } from 'typeorm';
import { TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { ManualClock } from 'nestjs-access-tokens/testing';
import { FIXTURE_OPTIONS, Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { QueryCounter } from './fixtures/query-counter.js';

const selects = (queries: string[]) => queries.filter((q) => /^\s*SELECT/i.test(q));
const writes = (queries: string[]) => queries.filter((q) => /^\s*(UPDATE|INSERT|DELETE)/i.test(q));

describe.each(HTTP_ADAPTERS)(`the verification cache on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  const clock = new ManualClock();
  const queries = new QueryCounter();
  /** Lets the spec hold a verification between its database read and its caching. */
  let gate: { reached: () => void; release: Promise<void> } | null = null;
  let database: TestDatabase;
  let cached: INestApplication;
  let uncached: INestApplication;
  let members: Repository<Member>;
  let member: string;
  let seq = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    const permissions = async (m: Member) => {
      if (gate) {
        gate.reached();
        await gate.release;
      }
      return m.grants;
    };
    const options = { ...FIXTURE_OPTIONS, clock, user: { ...FIXTURE_OPTIONS.user, permissions } };
    cached = await startFixtureApp(database, { ...options, cache: { ttlSeconds: 10 } }, { queries, adapter });
    uncached = await startFixtureApp(database, { ...options, cache: false }, { queries, adapter });
    members = cached.get(DataSource).getRepository(Member);
  });

  afterAll(async () => {
    await cached?.close();
    await uncached?.close();
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

  const issue = async (options: { expiresIn?: number } = {}) =>
    (await cached.get(TokensService).issue(member, { name: 't', ...options })).token;
  const get = (app: INestApplication, token: string) =>
    request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`);

  it('serves repeat verifications without a query', async () => {
    const token = await issue();
    await get(cached, token).expect(200);
    await cached.get(TokensService).list(member);
    const run = await queries.during(async () => {
      for (let i = 0; i < 100; i++) await get(cached, token).expect(200);
    });
    expect(run).toEqual([]);
  });

  it('shares one frozen verification between hits, rather than a copy per request', async () => {
    const token = await issue();
    const tokens = cached.get(TokensService);
    const first = await tokens.verify(token);
    const again = await tokens.verify(token);
    expect(again).toBe(first);
    expect([first, first.accessToken, first.scopes].every((part) => Object.isFrozen(part))).toBe(true);
  });

  it('without it, costs exactly one query per request and writes nothing on the request path', async () => {
    const token = await issue();
    await get(uncached, token).expect(200);
    await uncached.get(TokensService).list(member);
    const run = await queries.during(async () => {
      for (let i = 0; i < 50; i++) await get(uncached, token).expect(200);
    });
    expect(selects(run)).toHaveLength(50);
    expect(writes(run)).toEqual([]);
  });

  it('lets concurrent misses for one token share one query', async () => {
    const token = await issue();
    const run = await queries.during(async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, () => get(cached, token)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    });
    expect(selects(run).filter((q) => q.includes('token_hash'))).toHaveLength(1);
  });

  it('checks expiry on every hit', async () => {
    const token = await issue({ expiresIn: 60 });
    await get(cached, token).expect(200);
    clock.advance(60);
    expect((await get(cached, token).expect(401)).body.reason).toBe('expired');
  });

  it('evicts at once on revocation', async () => {
    const token = await issue();
    await get(cached, token).expect(200);
    await cached.get(TokensService).revokeAll(member);
    await get(cached, token).expect(401);
  });

  it('evicts at once on a user change the subscriber sees', async () => {
    const token = await issue();
    await get(cached, token).expect(200);
    await members.save({ memberId: member, grants: ['billing:read'] });
    await get(cached, token).expect(403);
  });

  it('sees changes made outside the ORM within its TTL', async () => {
    const token = await issue();
    await get(cached, token).expect(200);
    await members.update({ memberId: member }, { secret: 'changed unseen' });
    await get(cached, token).expect(200);
    clock.advance(10);
    expect((await get(cached, token).expect(401)).body.revokedReason).toBe('credentials_changed');
  });

  it('does not let a read that raced a revocation put a stale entry back', async () => {
    const token = await issue();
    let release!: () => void;
    const reached = new Promise<void>((resolve) => {
      gate = { reached: resolve, release: new Promise((done) => (release = done)) };
    });
    // This request reads the token and user, then waits in permissions() before caching...
    const racing = get(cached, token).then((response) => response.status);
    await reached;
    gate = null;
    // ...while the revocation commits and invalidates.
    await cached.get(TokensService).revokeAll(member);
    release();
    expect(await racing).toBe(200);
    await get(cached, token).expect(401);
  });
});
