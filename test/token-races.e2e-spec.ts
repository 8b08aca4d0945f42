import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { DataSource, type Repository } from 'typeorm';
import { AccessTokenEvents, TokensService } from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';

/** How many times each race is run: a race lost once in a while still fails the spec. */
const RUNS = 20;
const CAP = 10;

/** The module's invariants when its calls race, each race replayed `RUNS` times. */
describe.each(HTTP_ADAPTERS)(`token races on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  let app: INestApplication;
  let tokens: TokensService;
  let members: Repository<Member>;
  let serial = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startFixtureApp(
      database,
      { ...FIXTURE_OPTIONS, tokens: { ...FIXTURE_OPTIONS.tokens, maxPerUser: CAP } },
      { adapter },
    );
    tokens = app.get(TokensService);
    members = app.get(DataSource).getRepository(Member);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  async function member(): Promise<string> {
    const memberId = `m-race-${++serial}`;
    await members.insert({ memberId, login: memberId, secret: 'x', disabled: false, grants: ['reports:*'] });
    return memberId;
  }

  it(`never lets a user hold more than tokens.maxPerUser live tokens (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const memberId = await member();
      for (let i = 0; i < CAP - 3; i++) await tokens.issue(memberId, { name: `before ${i}` });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => tokens.issue(memberId, { name: `racing ${i}` })),
      );
      const issued = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
      const refused = outcomes
        .filter((outcome) => outcome.status === 'rejected')
        .map((outcome) => (outcome as PromiseRejectedResult).reason as { code?: string });
      expect({ issued, codes: [...new Set(refused.map((reason) => reason.code))] }).toEqual({
        issued: 3,
        codes: ['too_many_tokens'],
      });
      expect((await tokens.list(memberId)).length).toBe(CAP);
    }
  });

  it(`rotates a token once when two rotations race, leaving one live successor (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const memberId = await member();
      const { accessToken } = await tokens.issue(memberId, { name: 'rotated' });
      const outcomes = await Promise.allSettled([
        tokens.rotate(memberId, accessToken.id, { graceSeconds: 60 }),
        tokens.rotate(memberId, accessToken.id, { graceSeconds: 60 }),
      ]);
      const codes = outcomes
        .map((outcome) => (outcome.status === 'fulfilled' ? 'rotated' : (outcome.reason as { code?: string }).code))
        .sort();
      expect(codes).toEqual(['rotated', 'token_not_live']);
      const successors = (await tokens.list(memberId)).filter((view) => view.revokedAt === null);
      expect(successors).toHaveLength(1);
    }
  });

  it(`leaves no live successor of a token revoked while it was being rotated (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const memberId = await member();
      const { token: raw, accessToken } = await tokens.issue(memberId, { name: 'leaked' });
      const [rotation] = await Promise.allSettled([
        tokens.rotate(memberId, accessToken.id, { graceSeconds: 60 }),
        tokens.revokeBySecret(raw),
      ]);
      if (rotation.status === 'fulfilled')
        await expect(tokens.verify(rotation.value.token)).rejects.toMatchObject({ code: 'revoked' });
      else expect(rotation.reason).toMatchObject({ code: 'token_not_live' });
      await expect(tokens.verify(raw)).rejects.toMatchObject({ code: 'revoked' });
      expect((await tokens.page(memberId, { status: 'live' })).tokens).toEqual([]);
    }
  });

  it(`never widens a token when narrowings race: each is judged against what the other left (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const memberId = await member();
      const { accessToken } = await tokens.issue(memberId, {
        name: 'narrowed',
        scopes: ['reports:read', 'reports:export'],
      });
      const outcomes = await Promise.allSettled([
        tokens.update(memberId, accessToken.id, { scopes: ['reports:read'] }),
        tokens.update(memberId, accessToken.id, { scopes: ['reports:read', 'reports:export'] }),
      ]);
      // Whichever lands first, the token ends with the narrower scopes; the wider change, if it
      // came second, is refused rather than undoing the narrowing.
      expect((await tokens.list(memberId))[0]!.scopes).toEqual(['reports:read']);
      expect(outcomes[0].status).toBe('fulfilled');
      if (outcomes[1].status === 'rejected') expect(outcomes[1].reason).toMatchObject({ code: 'invalid_scope' });
    }
  });

  it(`announces a pause once when two pauses race (${RUNS} runs)`, async () => {
    const paused: string[] = [];
    const stop = app.get(AccessTokenEvents).on('paused', ({ tokenId }) => void paused.push(tokenId));
    try {
      for (let run = 0; run < RUNS; run++) {
        const memberId = await member();
        const { accessToken } = await tokens.issue(memberId, { name: 'paused' });
        await Promise.all([tokens.pause(memberId, accessToken.id), tokens.pause(memberId, accessToken.id)]);
        expect(paused.filter((id) => id === accessToken.id)).toHaveLength(1);
      }
    } finally {
      stop();
    }
  });
});
