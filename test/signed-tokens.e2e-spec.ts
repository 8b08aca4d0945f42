import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { errors, SessionsService, TokensService } from 'nestjs-access-tokens';
import { ManualClock } from 'nestjs-access-tokens/testing';
import { hashToken, REFUSED_TOKENS, VERIFICATION_CACHE, type RefusedTokens, type VerificationCache } from '#internal';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, Member, startFixtureApp } from './fixtures/fixture-app.module.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { QueryCounter } from './fixtures/query-counter.js';
import { forgedToken, forgedTokenOfKnownKey, signedUnknownToken, TEST_SECRET } from './fixtures/secrets.js';

const RETIRED_SECRET = '7v1wJC0fIC-4b8flGsa4TDCkK6Vz-DGBOAdqLEV4nXQ';
const NEW_SECRET = '1Lr4-pkQPoJV_05sOmlGsXwvoNnzBI10bp6Uu9_aeo4';

/**
 * Tokens prove themselves before any lookup (issue 13): a token this app did not sign, or one past
 * its signed expiry, costs no query and no cache entry; a signed token the database does not know
 * costs one query per moment, however often it comes.
 */
describe.each(HTTP_ADAPTERS)(`signed tokens on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  const clock = new ManualClock();
  const queries = new QueryCounter();
  let database: TestDatabase;
  let app: INestApplication;
  let tokens: TokensService;
  let cache: VerificationCache<unknown>;
  let refused: RefusedTokens;

  beforeAll(async () => {
    database = await createTestDatabase();
    // The app signs with a new secret, and still accepts tokens of the one before it.
    app = await startFixtureApp(
      database,
      { ...FIXTURE_OPTIONS, clock, secret: [TEST_SECRET, RETIRED_SECRET] },
      { queries, adapter },
    );
    tokens = app.get(TokensService);
    cache = app.get(VERIFICATION_CACHE);
    refused = app.get(REFUSED_TOKENS);
    await app
      .get(DataSource)
      .getRepository(Member)
      .save({ memberId: 'm-1', login: 'ann', secret: 'h', disabled: false, grants: ['reports:*'] });
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const get = (token: string) => request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`);

  it.each([
    ['forged: form and CRC32 right, of a key id the app does not know', () => forgedToken('fx'), 'malformed'],
    ["forged under the app's own key id: only the MAC is wrong", () => forgedTokenOfKnownKey('fx'), 'malformed'],
    ['a session access token, forged', () => forgedToken('fx_s'), 'malformed'],
    [
      'signed, but its signed expiry has passed',
      () => signedUnknownToken('fx', clock.now().getTime() - 1000),
      'expired',
    ],
  ])('refuses a token %s with 401 and its reason, at no query and no cache entry', async (_case, token, reason) => {
    const cached = cache.size;
    const ran = await queries.during(async () => {
      const response = await get(token()).expect(401);
      expect(response.body.reason).toBe(reason);
      expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
    });
    expect(ran).toEqual([]);
    expect(cache.size).toBe(cached);
  });

  it('refuses 10,000 distinct forged tokens with no database query and no cache entry', async () => {
    const cached = cache.size;
    const remembered = refused.size;
    const forged = Array.from({ length: 10_000 }, (_, i) => (i % 2 ? forgedToken('fx') : forgedTokenOfKnownKey('fx')));
    const ran = await queries.during(async () => {
      for (const token of forged) expect(() => tokens.resolve(token)).toThrow(errors.InvalidTokenError);
    });
    expect(ran).toEqual([]);
    expect(cache.size).toBe(cached);
    // Nor are they remembered as refused: each distinct one is checked, and none fills the memory.
    expect(refused.size).toBe(remembered);
  });

  it('expires a token at its signed expiry, on the controlled clock, without asking the database', async () => {
    const { token } = await tokens.issue('m-1', { name: 'brief', expiresIn: 60 });
    await get(token).expect(200);
    clock.advance(59);
    await get(token).expect(200);
    clock.advance(1);
    const ran = await queries.during(async () => expect((await get(token).expect(401)).body.reason).toBe('expired'));
    expect(ran).toEqual([]);
  });

  it('remembers a token refused as expired, and answers it again the same, at no query', async () => {
    const token = signedUnknownToken('fx', clock.now().getTime() - 1000);
    const first = await get(token).expect(401);
    // Remembered by its hash: the next ones cost no MAC (the bench measures what that saves).
    expect(refused.get(hashToken(token), clock.now().getTime())).toBe('expired');
    const ran = await queries.during(async () => {
      for (let i = 0; i < 20; i++) {
        const again = await get(token).expect(401);
        expect(again.body).toEqual(first.body);
        expect(again.headers['www-authenticate']).toBe(first.headers['www-authenticate']);
      }
    });
    expect(ran).toEqual([]);
    // A string of a token's length that differs by one character is not that token.
    const altered = `${token.slice(0, -2)}${token.at(-2) === 'A' ? 'B' : 'A'}${token.at(-1)}`;
    expect((await get(altered).expect(401)).body.reason).toBe('malformed');
  });

  it('asks the database once about a signed token it does not know, however often it comes', async () => {
    const token = signedUnknownToken('fx');
    const ran = await queries.during(async () => {
      for (let i = 0; i < 50; i++) expect((await get(token).expect(401)).body.reason).toBe('unknown');
    });
    expect(ran.filter((query) => /^\s*SELECT/i.test(query))).toHaveLength(1);
    // And again once the cache's ttl (10 s here) has passed: a restored token is not refused for long.
    clock.advance(9);
    expect(
      (await queries.during(() => get(token).expect(401))).filter((query) => /^\s*SELECT/i.test(query)),
    ).toHaveLength(0);
    clock.advance(2);
    const later = await queries.during(() => get(token).expect(401));
    expect(later.filter((query) => /^\s*SELECT/i.test(query))).toHaveLength(1);
  });

  it("accepts tokens of every secret given, and refuses a retired secret's tokens at no query", async () => {
    const { token } = await tokens.issue('m-1', { name: 'before the rotation' });
    const retiredApp = await startFixtureApp(
      database,
      { ...FIXTURE_OPTIONS, clock, secret: RETIRED_SECRET },
      { queries, adapter },
    );
    let issuedUnderRetired: string;
    try {
      issuedUnderRetired = (await retiredApp.get(TokensService).issue('m-1', { name: 'signed by the old secret' }))
        .token;
    } finally {
      await retiredApp.close();
    }
    // Rotation, step 1: new secret first, the old one still listed. Both work.
    await get(token).expect(200);
    await get(issuedUnderRetired).expect(200);
    // Step 3: the old secret is removed. Its tokens are refused before any lookup.
    const rotatedApp = await startFixtureApp(
      database,
      { ...FIXTURE_OPTIONS, clock, secret: [NEW_SECRET, TEST_SECRET] },
      { queries, adapter },
    );
    try {
      const rotated = request(rotatedApp.getHttpServer());
      await rotated.get('/reports').set('Authorization', `Bearer ${token}`).expect(200);
      const ran = await queries.during(async () => {
        const response = await rotated.get('/reports').set('Authorization', `Bearer ${issuedUnderRetired}`).expect(401);
        expect(response.body.reason).toBe('malformed');
      });
      expect(ran).toEqual([]);
      const { token: fresh } = await rotatedApp.get(TokensService).issue('m-1', { name: 'after the rotation' });
      // The app of before the rotation does not know the new secret.
      await get(fresh).expect(401);
    } finally {
      await rotatedApp.close();
    }
  });

  it('refuses forged and expired refresh tokens before any lookup, as it does access tokens', async () => {
    const sessions = app.get(SessionsService);
    const { refreshToken, accessToken } = await sessions.start('m-1');
    await get(accessToken).expect(200);
    const ran = await queries.during(async () => {
      await expect(sessions.refresh(forgedToken('fx_r'))).rejects.toMatchObject({ code: 'malformed' });
      await expect(sessions.refresh(signedUnknownToken('fx_r', clock.now().getTime() - 1000))).rejects.toMatchObject({
        code: 'expired',
      });
    });
    expect(ran).toEqual([]);
    // A refresh token cannot be relabelled as an access token: the signature covers the prefix.
    await expect(get(refreshToken.replace(/^fx_r_/, 'fx_s_'))).resolves.toMatchObject({ status: 401 });
    expect((await sessions.refresh(refreshToken)).accessToken).toMatch(/^fx_s_/);
  });

  it('takes a forged leak report at no query, and answers it as any other', async () => {
    const ran = await queries.during(async () => {
      expect(await tokens.revokeBySecret(forgedToken('fx'))).toBe(false);
      expect(await tokens.revokeBySecret(forgedTokenOfKnownKey('fx_s'))).toBe(false);
    });
    expect(ran).toEqual([]);
    const { token } = await tokens.issue('m-1', { name: 'leaked' });
    expect(await tokens.revokeBySecret(token)).toBe(true);
    expect((await get(token).expect(401)).body.reason).toBe('revoked');
  });
});
