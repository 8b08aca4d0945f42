import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { Repository } from 'typeorm';
import {
  AccessToken,
  AccessTokenEvents,
  errors,
  TeamTokensService,
  TokensService,
  type AccessTokenEventMap,
  type AccessTokensModuleOptions,
} from 'nestjs-access-tokens';
import { Team } from '../src/teams/team.entity.js';
import { User } from '../src/users/user.entity.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { basicAuth, startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';
import { signedUnknownToken } from './fixtures/secrets.js';

const PASSWORD = 'correct horse battery';
const ADMIN = { username: 'root', password: 'admin password 1' };
/** Past the demo's cache TTL (10 s without a bus): what a cache hit kept is read again. */
const PAST_CACHE_TTL_MS = 11_000;

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Sign-ups, personal tokens and teams of one demo instance, as a client makes them. */
function clientOf(demo: DemoApp) {
  let seq = 0;
  return {
    async signUp(prefix = 'member'): Promise<{ id: number; username: string }> {
      seq += 1;
      const username = `${prefix}${seq}_${randomBytes(3).toString('hex')}`;
      const { id } = (await demo.http.post('/users').send({ username, password: PASSWORD }).expect(201)).body as {
        id: number;
      };
      return { id, username };
    },
    async personal(username: string, password = PASSWORD, scopes?: string[]): Promise<string> {
      const response = await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth(username, password))
        .send(scopes ? { scopes } : {})
        .expect(201);
      return response.body.token as string;
    },
    async team(token: string, name = 'platform'): Promise<number> {
      const response = await demo.http.post('/teams').set(bearer(token)).send({ name }).expect(201);
      return (response.body as { id: number }).id;
    },
    async teamToken(token: string, teamId: number, scopes = ['teams:read', 'teams:write']): Promise<string> {
      const response = await demo.http
        .post(`/teams/${teamId}/tokens`)
        .set(bearer(token))
        .send({ name: 'deploys', scopes })
        .expect(201);
      return response.body.token as string;
    },
  };
}

describe.each(HTTP_ADAPTERS)(`team tokens in the demo on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let demo: DemoApp;
  let client: ReturnType<typeof clientOf>;
  let admin: string;
  let teams: Repository<Team>;
  let users: Repository<User>;
  let revoked: AccessTokenEventMap['revoked'][];
  /** The other events of tokens' lives, in the order they were raised. */
  let lived: { event: string; payload: object }[];

  beforeAll(async () => {
    demo = await startDemoApp({ admin: ADMIN, httpAdapter: adapter });
    client = clientOf(demo);
    admin = await client.personal(ADMIN.username, ADMIN.password);
    teams = demo.dataSource.getRepository(Team);
    users = demo.dataSource.getRepository(User);
    revoked = [];
    demo.app.get(AccessTokenEvents).on('revoked', (event) => void revoked.push(event));
    lived = [];
    for (const event of ['canary_used', 'paused', 'resumed', 'rotated'] as const) {
      demo.app.get(AccessTokenEvents).on(event, (payload) => void lived.push({ event, payload }));
    }
  });

  afterAll(async () => {
    await demo?.close();
  });

  beforeEach(() => {
    revoked.length = 0;
    lived.length = 0;
  });

  /** A member with a personal token, their team, and a token of that team. */
  async function teamWithToken(scopes?: string[]) {
    const member = await client.signUp();
    const personal = await client.personal(member.username);
    const teamId = await client.team(personal);
    const token = await client.teamToken(personal, teamId, scopes);
    return { member, personal, teamId, token };
  }

  const show = (teamId: number, token: string) => demo.http.get(`/teams/${teamId}`).set(bearer(token));

  async function expectRevoked(teamId: number, token: string, reason: string): Promise<void> {
    const response = await show(teamId, token).expect(401);
    expect(response.body).toMatchObject({ reason: 'revoked', revokedReason: reason });
  }

  /** Refused as the team's block answers, with no revocation's reason: what a client sees while the team is blocked. */
  async function expectBlocked(teamId: number, token: string): Promise<void> {
    const response = await show(teamId, token).expect(401);
    expect(response.body).toMatchObject({ statusCode: 401, reason: 'blocked' });
    expect(response.body).not.toHaveProperty('revokedReason');
    expect(response.headers['www-authenticate']).toContain('error="invalid_token"');
  }

  /** The team's token, as its list shows it. */
  async function viewOf(teamId: number) {
    const [view] = await demo.app.get(TeamTokensService).list(teamId);
    return view!;
  }

  /** The team's `blocked` column set by raw SQL, which no subscriber sees. */
  async function blockBySql(teamId: number, blocked: boolean): Promise<void> {
    const postgres = testDatabaseKind() === 'postgres';
    const value = postgres ? String(blocked) : blocked ? '1' : '0';
    await demo.dataSource.query(`UPDATE teams SET blocked = ${value} WHERE id = ${postgres ? '$1' : '?'}`, [teamId]);
  }

  it('issues a token to a team, by a member, that acts as the team on GET /teams/:id', async () => {
    const member = await client.signUp();
    const personal = await client.personal(member.username);
    const created = await demo.http.post('/teams').set(bearer(personal)).send({ name: 'platform' }).expect(201);
    expect(created.body).toEqual({ id: expect.any(Number), name: 'platform', blocked: false });
    const teamId = (created.body as { id: number }).id;
    const issued = await demo.http
      .post(`/teams/${teamId}/tokens`)
      .set(bearer(personal))
      .send({ name: 'deploys', scopes: ['teams:read'] })
      .expect(201);
    expect(issued.body).toMatchObject({ name: 'deploys', scopes: ['teams:read'], createdBy: String(member.id) });
    const token = issued.body.token as string;
    expect((await show(teamId, token).expect(200)).body).toEqual({
      id: teamId,
      name: 'platform',
      blocked: false,
      actingAs: 'team',
      scopes: ['teams:read'],
    });
    const listed = await demo.http.get(`/teams/${teamId}/tokens`).set(bearer(personal)).expect(200);
    expect(listed.body).toEqual([
      expect.objectContaining({ kind: 'team', name: 'deploys', createdBy: String(member.id), sessionId: null }),
    ]);
    const mine = await demo.http.get('/teams').set(bearer(personal)).expect(200);
    expect(mine.body).toEqual([
      {
        id: teamId,
        name: 'platform',
        blocked: false,
        tokens: [expect.objectContaining({ name: 'deploys', createdBy: String(member.id), status: 'live' })],
      },
    ]);
    // Not among the member's own tokens.
    const own = await demo.http.get('/tokens').set(bearer(personal)).expect(200);
    expect((own.body as { kind: string }[]).map((view) => view.kind)).toEqual(['personal']);
  });

  it("refuses a team's token on a route for personal tokens, 403 personal_token_required", async () => {
    const { token } = await teamWithToken();
    const response = await demo.http.get('/users/me').set(bearer(token)).expect(403);
    expect(response.body).toMatchObject({ reason: 'personal_token_required', statusCode: 403 });
    expect(response.body.message).toContain('takes personal tokens');
    // The ready-made token routes too: a team is nobody's user.
    expect((await demo.http.get('/tokens').set(bearer(token)).expect(403)).body.reason).toBe('personal_token_required');
    await demo.http.post('/teams').set(bearer(token)).send({ name: 'sneaky' }).expect(403);
  });

  it("refuses a team's token on a GraphQL resolver for personal tokens", async () => {
    const { token } = await teamWithToken();
    const response = await demo.http.post('/graphql').set(bearer(token)).send({ query: '{ me { id username } }' });
    const answer = response.body as { data?: unknown; errors: { extensions: { reason?: string } }[] };
    expect(answer.data ?? null).toBeNull();
    expect(answer.errors[0]!.extensions.reason).toBe('personal_token_required');
  });

  it("refuses a personal token on the team's route, and a token of another team", async () => {
    const { personal, teamId } = await teamWithToken();
    expect((await show(teamId, personal).expect(403)).body.reason).toBe('team_token_required');
    const other = await teamWithToken();
    const response = await show(teamId, other.token).expect(403);
    expect(response.body.message).toContain("another team's token");
  });

  it('issues and lists team tokens for members only', async () => {
    const { teamId } = await teamWithToken();
    const stranger = await client.signUp('stranger');
    const theirs = await client.personal(stranger.username);
    await demo.http
      .post(`/teams/${teamId}/tokens`)
      .set(bearer(theirs))
      .send({ name: 'x', scopes: ['teams:read'] })
      .expect(403);
    await demo.http.get(`/teams/${teamId}/tokens`).set(bearer(theirs)).expect(403);
    await demo.http
      .post('/teams/999999/tokens')
      .set(bearer(theirs))
      .send({ name: 'x', scopes: ['teams:read'] })
      .expect(404);
  });

  it("caps a team token's scopes by the team's permissions now, and refuses scopes beyond them", async () => {
    const { personal, teamId, token } = await teamWithToken();
    expect((await show(teamId, token).expect(200)).body.scopes).toEqual(['teams:read', 'teams:write']);
    const team = await teams.findOneByOrFail({ id: teamId });
    team.permissions = ['teams:read'];
    await teams.save(team);
    expect((await show(teamId, token).expect(200)).body.scopes).toEqual(['teams:read']);
    team.permissions = ['teams:write'];
    await teams.save(team);
    expect((await show(teamId, token).expect(403)).body.reason).toBe('insufficient_scope');
    const beyond = await demo.http
      .post(`/teams/${teamId}/tokens`)
      .set(bearer(personal))
      .send({ name: 'admin', scopes: ['users:admin'] })
      .expect(400);
    expect(beyond.body.reason).toBe('invalid_scope');
    expect(beyond.body.message).toContain('The team may not grant users:admin');
  });

  it("refuses a team's tokens as blocked when an admin blocks the team (POST /teams/:id/block), revoked for good", async () => {
    const { personal, teamId, token } = await teamWithToken();
    await show(teamId, token).expect(200);
    await demo.http.post(`/teams/${teamId}/block`).set(bearer(personal)).expect(403);
    await demo.http.post(`/teams/${teamId}/block`).set(bearer(admin)).expect(204);
    // Revoked in the block's transaction, but answered as the block while it lasts.
    await expectBlocked(teamId, token);
    expect(revoked).toEqual([
      { userId: String(teamId), tokenIds: [expect.any(String)], reason: 'blocked', ownerKind: 'team' },
    ]);
    expect(await viewOf(teamId)).toMatchObject({ revokedReason: 'blocked', revokedAt: expect.any(Date) });
    // The member's own token is the member's: it still works.
    await demo.http.get('/users/me').set(bearer(personal)).expect(200);
    // And a blocked team gets no new token.
    const refused = await demo.http
      .post(`/teams/${teamId}/tokens`)
      .set(bearer(personal))
      .send({ name: 'again', scopes: ['teams:read'] })
      .expect(403);
    expect(refused.body.reason).toBe('team_blocked');
    // Unblocked, the team's old token stays revoked, and says so.
    await teams.save({ ...(await teams.findOneByOrFail({ id: teamId })), blocked: false });
    await expectRevoked(teamId, token, 'blocked');
  });

  describe('on every write path to the team', () => {
    it('revokes on save() of a new name', async () => {
      const { teamId, token } = await teamWithToken();
      await show(teamId, token).expect(200);
      const team = await teams.findOneByOrFail({ id: teamId });
      team.name = 'renamed';
      await teams.save(team);
      await expectRevoked(teamId, token, 'team_renamed');
    });

    it('revokes on repository.update() of the name, at the next read of the token', async () => {
      const { teamId, token } = await teamWithToken();
      await show(teamId, token).expect(200);
      await teams.update({ id: teamId }, { name: 'renamed unseen' });
      demo.clock.advance(PAST_CACHE_TTL_MS);
      await expectRevoked(teamId, token, 'credentials_changed');
    });

    it('revokes on a query-builder update of the name', async () => {
      const { teamId, token } = await teamWithToken();
      await demo.dataSource
        .createQueryBuilder()
        .update(Team)
        .set({ name: 'renamed by qb' })
        .where('id = :id', { id: teamId })
        .execute();
      await expectRevoked(teamId, token, 'credentials_changed');
    });

    it('refuses as blocked on update() of blocked, and for good', async () => {
      const { teamId, token } = await teamWithToken();
      await teams.update({ id: teamId }, { blocked: true });
      await expectBlocked(teamId, token);
      // The first refusal revoked it; while the team stays blocked, it still answers as the block.
      expect(await viewOf(teamId)).toMatchObject({ revokedReason: 'blocked' });
      await expectBlocked(teamId, token);
      await teams.update({ id: teamId }, { blocked: false });
      await expectRevoked(teamId, token, 'blocked');
    });

    it('refuses as blocked by raw SQL at the next read of the token, the cached one past the TTL, and for good', async () => {
      const { teamId, token } = await teamWithToken();
      await show(teamId, token).expect(200);
      await blockBySql(teamId, true);
      // A verification cached before the write is trusted for the cache's TTL, then read again.
      await show(teamId, token).expect(200);
      demo.clock.advance(PAST_CACHE_TTL_MS);
      await expectBlocked(teamId, token);
      await expectBlocked(teamId, token);
      await blockBySql(teamId, false);
      await expectRevoked(teamId, token, 'blocked');
    });

    it('keeps tokens working when a save() of blocked or of a new name rolls back with the app transaction', async () => {
      const { teamId, token } = await teamWithToken();
      await show(teamId, token).expect(200);
      for (const change of [{ blocked: true }, { name: 'renamed, rolled back' }]) {
        await expect(
          demo.dataSource.transaction(async (manager) => {
            await manager.save(Team, { ...(await manager.findOneByOrFail(Team, { id: teamId })), ...change });
            throw new Error('roll back');
          }),
        ).rejects.toThrow('roll back');
        await show(teamId, token).expect(200);
        // Read again from the database, not only from the cache.
        demo.clock.advance(PAST_CACHE_TTL_MS);
        await show(teamId, token).expect(200);
      }
      expect(revoked).toEqual([]);
      expect(await viewOf(teamId)).toMatchObject({ revokedAt: null });
    });

    it('keeps tokens on a change of nothing watched', async () => {
      const { teamId, token } = await teamWithToken();
      await teams.update({ id: teamId }, { permissions: ['teams:read', 'teams:write'] });
      await show(teamId, token).expect(200);
    });

    it('revokes when the team is deleted, by remove() or by delete()', async () => {
      const first = await teamWithToken();
      await teams.remove(await teams.findOneByOrFail({ id: first.teamId }));
      expect(revoked).toEqual([
        { userId: String(first.teamId), tokenIds: [expect.any(String)], reason: 'team_deleted', ownerKind: 'team' },
      ]);
      await expectRevoked(first.teamId, first.token, 'team_deleted');
      const second = await teamWithToken();
      await teams.delete({ id: second.teamId });
      await expectRevoked(second.teamId, second.token, 'team_deleted');
    });
  });

  describe('a user and a team with the same id', () => {
    /** A member's team, and the user whose id is the team's id (not the admin, whose token the suite keeps). */
    async function twins() {
      let made = await teamWithToken();
      while (made.teamId === 1) made = await teamWithToken();
      // Users and teams count their ids apart: sign up until a user has the team's.
      let last = await client.signUp('twin');
      while (last.id < made.teamId) last = await client.signUp('twin');
      const user = await users.findOneByOrFail({ id: made.teamId });
      expect(user.username).not.toBe(ADMIN.username);
      return { ...made, user };
    }

    it("revokes neither's tokens for the other's change: the user's password, the team's block", async () => {
      const { teamId, token, user } = await twins();
      // A user whose id is the team's, with tokens of their own.
      const { token: userToken } = await demo.app.get(TokensService).issue(user.id, { name: 'twin' });
      await demo.http.get('/users/me').set(bearer(userToken)).expect(200);
      await show(teamId, token).expect(200);
      // The user's password changes: their tokens go, the team's stay.
      user.passwordHash = '$2b$10$abcdefghijklmnopqrstuu7vL7mG8e7h5C9P1eB1D2Pq0aJ5m8S6O';
      await users.save(user);
      expect((await demo.http.get('/users/me').set(bearer(userToken)).expect(401)).body.revokedReason).toBe(
        'password_changed',
      );
      expect(revoked.map((event) => event.ownerKind)).toEqual([undefined]);
      await show(teamId, token).expect(200);
      // The team is blocked: its tokens go, the user's new one stays.
      const { token: again } = await demo.app.get(TokensService).issue(user.id, { name: 'twin again' });
      const team = await teams.findOneByOrFail({ id: teamId });
      team.blocked = true;
      await teams.save(team);
      await expectBlocked(teamId, token);
      await demo.http.get('/users/me').set(bearer(again)).expect(200);
    });

    it('keeps the services apart: revokeAll and revoke of one never reach the other', async () => {
      const { teamId, token, user } = await twins();
      const tokens = demo.app.get(TokensService);
      const teamTokens = demo.app.get(TeamTokensService);
      const { token: userToken } = await tokens.issue(user.id, { name: 'twin' });
      const [teamView] = await teamTokens.list(teamId);
      await expect(tokens.revoke(user.id, teamView!.id)).rejects.toBeInstanceOf(errors.TokenNotFoundError);
      expect(await tokens.revokeAll(user.id)).toBeGreaterThan(0);
      await show(teamId, token).expect(200);
      const { token: second } = await tokens.issue(user.id, { name: 'twin 2' });
      expect(await teamTokens.revokeAll(teamId)).toBe(1);
      await demo.http.get('/users/me').set(bearer(second)).expect(200);
      await demo.http.get('/users/me').set(bearer(userToken)).expect(401);
    });

    it("refuses a blocked user's tokens without touching the team's, and the other way round, caught at verification", async () => {
      const { teamId, token, user } = await twins();
      const { token: userToken } = await demo.app.get(TokensService).issue(user.id, { name: 'twin' });
      await users.update({ id: user.id }, { blocked: true });
      expect((await demo.http.get('/users/me').set(bearer(userToken)).expect(401)).body.reason).toBe('user_blocked');
      await show(teamId, token).expect(200);
      await users.update({ id: user.id }, { blocked: false });
      const { token: fresh } = await demo.app.get(TokensService).issue(user.id, { name: 'twin fresh' });
      await teams.update({ id: teamId }, { blocked: true });
      // The team's token was verified and cached above: read again past the cache's TTL.
      demo.clock.advance(PAST_CACHE_TTL_MS);
      expect((await show(teamId, token).expect(401)).body.reason).toBe('blocked');
      await demo.http.get('/users/me').set(bearer(fresh)).expect(200);
    });
  });

  describe('what personal tokens have', () => {
    const tokenPath = (teamId: number, tokenId: string) => `/teams/${teamId}/tokens/${tokenId}`;
    const viewOf = async (teamId: number, tokenId: string) =>
      (await demo.app.get(TeamTokensService).list(teamId)).find((view) => view.id === tokenId)!;

    /** A member's team, and a token issued through POST /teams/:id/tokens with `body`. */
    async function issuedThroughDemo(body: object) {
      const member = await client.signUp();
      const personal = await client.personal(member.username);
      const teamId = await client.team(personal);
      const response = await demo.http
        .post(`/teams/${teamId}/tokens`)
        .set(bearer(personal))
        .send({ name: 'deploys', scopes: ['teams:read', 'teams:write'], ...body })
        .expect(201);
      const issued = response.body as { token: string; id: string } & Record<string, unknown>;
      return { member, personal, teamId, issued };
    }

    it('issues a canary that answers as an unknown token and raises canary_used, never acting as the team', async () => {
      const { member, teamId } = await teamWithToken();
      const teamTokens = demo.app.get(TeamTokensService);
      const { token, accessToken } = await teamTokens.issue(teamId, member.id, { name: 'tripwire', canary: true });
      expect(accessToken).toMatchObject({ kind: 'team', canary: true, expiresAt: null });
      const refused = await show(teamId, token).expect(401);
      const unknown = await show(teamId, signedUnknownToken('nat')).expect(401);
      expect(refused.body).toEqual(unknown.body);
      expect(refused.headers['www-authenticate']).toBe(unknown.headers['www-authenticate']);
      expect(lived).toEqual([
        {
          event: 'canary_used',
          payload: expect.objectContaining({
            userId: String(teamId),
            tokenId: accessToken.id,
            name: 'tripwire',
            ownerKind: 'team',
          }),
        },
      ]);
      // As for a person's canary: it never expires, nor is it rotated.
      await expect(
        teamTokens.issue(teamId, member.id, { name: 'x', canary: true, expiresIn: 60 }),
      ).rejects.toBeInstanceOf(errors.InvalidExpiryError);
      await expect(teamTokens.rotate(teamId, accessToken.id)).rejects.toBeInstanceOf(errors.TokenNotLiveError);
    });

    it('issues a canary through POST /teams/:id/tokens', async () => {
      const { teamId, issued } = await issuedThroughDemo({ canary: true });
      expect(issued).toMatchObject({ kind: 'team', canary: true, expiresAt: null });
      expect((await show(teamId, issued.token).expect(401)).body.reason).toBe('unknown');
    });

    it('keeps metadata given on issue, and replaces or removes it on update', async () => {
      const { member, teamId } = await teamWithToken();
      const teamTokens = demo.app.get(TeamTokensService);
      const { accessToken } = await teamTokens.issue(teamId, member.id, {
        name: 'with metadata',
        metadata: { ticket: 'OPS-1', owners: ['ann'] },
      });
      expect(accessToken.metadata).toEqual({ ticket: 'OPS-1', owners: ['ann'] });
      expect((await viewOf(teamId, accessToken.id)).metadata).toEqual({ ticket: 'OPS-1', owners: ['ann'] });
      await expect(
        teamTokens.issue(teamId, member.id, { name: 'bad', metadata: [] as unknown as Record<string, never> }),
      ).rejects.toBeInstanceOf(errors.InvalidMetadataError);
      expect((await teamTokens.update(teamId, accessToken.id, { metadata: { ticket: 'OPS-2' } })).metadata).toEqual({
        ticket: 'OPS-2',
      });
      expect((await teamTokens.update(teamId, accessToken.id, { metadata: null })).metadata).toBeNull();
    });

    it('takes metadata, a lifetime and a policy on POST /teams/:id/tokens, shown in the views', async () => {
      const { personal, teamId, issued } = await issuedThroughDemo({
        expiresIn: 3600,
        maxUses: 5,
        usesPeriod: 86_400,
        rateLimit: { limit: 10, window: 60 },
        allowedIps: ['0.0.0.0/0', '::/0'],
        metadata: { ticket: 'OPS-3' },
      });
      const expected = {
        kind: 'team',
        maxUses: 5,
        usesLeft: 5,
        usesPeriod: 86_400,
        rateLimit: { limit: 10, window: 60 },
        allowedIps: ['0.0.0.0/0', '::/0'],
        metadata: { ticket: 'OPS-3' },
        expiresAt: new Date(demo.clock.now().getTime() - (demo.clock.now().getTime() % 1000) + 3_600_000).toISOString(),
      };
      expect(issued).toMatchObject(expected);
      await show(teamId, issued.token).expect(200);
      const listed = await demo.http.get(`/teams/${teamId}/tokens`).set(bearer(personal)).expect(200);
      expect(listed.body).toEqual([expect.objectContaining({ ...expected, usesLeft: 4 })]);
      // Refused as POST /tokens refuses it.
      const bad = await demo.http
        .post(`/teams/${teamId}/tokens`)
        .set(bearer(personal))
        .send({ name: 'x', scopes: ['teams:read'], maxUses: 0 })
        .expect(400);
      expect(bad.body.message).toEqual(expect.arrayContaining([expect.stringContaining('maxUses')]));
    });

    it('refuses a team token past its maxUses with 403 uses_exhausted', async () => {
      const { teamId, issued } = await issuedThroughDemo({ maxUses: 1 });
      await show(teamId, issued.token).expect(200);
      const refused = await show(teamId, issued.token).expect(403);
      expect(refused.body).toMatchObject({ reason: 'uses_exhausted' });
    });

    it('pauses a team token (401 paused) and resumes it, through PATCH and the service, announced once each', async () => {
      const { personal, teamId, issued } = await issuedThroughDemo({});
      await show(teamId, issued.token).expect(200);
      const paused = await demo.http
        .patch(tokenPath(teamId, issued.id))
        .set(bearer(personal))
        .send({ enabled: false })
        .expect(200);
      expect(paused.body).toMatchObject({ id: issued.id, kind: 'team', enabled: false });
      expect((await show(teamId, issued.token).expect(401)).body).toMatchObject({ reason: 'paused' });
      const teamTokens = demo.app.get(TeamTokensService);
      expect((await teamTokens.pause(teamId, issued.id)).enabled).toBe(false);
      expect((await teamTokens.resume(teamId, issued.id)).enabled).toBe(true);
      await show(teamId, issued.token).expect(200);
      expect(lived).toEqual([
        { event: 'paused', payload: { userId: String(teamId), tokenId: issued.id, ownerKind: 'team' } },
        { event: 'resumed', payload: { userId: String(teamId), tokenId: issued.id, ownerKind: 'team' } },
      ]);
    });

    it('renames a team token, changes its policy and narrows its scopes, never widening them', async () => {
      const { personal, teamId, issued } = await issuedThroughDemo({});
      expect((await show(teamId, issued.token).expect(200)).body.scopes).toEqual(['teams:read', 'teams:write']);
      const changed = await demo.http
        .patch(tokenPath(teamId, issued.id))
        .set(bearer(personal))
        .send({ name: 'read only', scopes: ['teams:read'], maxUses: 3, metadata: { why: 'narrowed' } })
        .expect(200);
      expect(changed.body).toMatchObject({
        name: 'read only',
        scopes: ['teams:read'],
        maxUses: 3,
        // It had no quota: the uses it made before count toward none.
        usesLeft: 3,
        metadata: { why: 'narrowed' },
      });
      expect((await show(teamId, issued.token).expect(200)).body.scopes).toEqual(['teams:read']);
      const wider = await demo.http
        .patch(tokenPath(teamId, issued.id))
        .set(bearer(personal))
        .send({ scopes: ['teams:read', 'teams:write'] })
        .expect(400);
      expect(wider.body).toMatchObject({ reason: 'invalid_scope' });
      expect(wider.body.message).toContain('can only be narrowed');
      expect((await viewOf(teamId, issued.id)).scopes).toEqual(['teams:read']);
    });

    it('rotates a team token: the new one works, the old one for its grace period only, and a second rotation is 409', async () => {
      const { personal, teamId, issued } = await issuedThroughDemo({
        rateLimit: { limit: 100, window: 60 },
        metadata: { ticket: 'OPS-4' },
      });
      await show(teamId, issued.token).expect(200);
      const rotated = await demo.http
        .post(`${tokenPath(teamId, issued.id)}/rotate`)
        .set(bearer(personal))
        .send({ graceSeconds: 60 })
        .expect(201);
      const successor = rotated.body as { token: string; id: string } & Record<string, unknown>;
      expect(successor).toMatchObject({
        kind: 'team',
        name: 'deploys',
        scopes: ['teams:read', 'teams:write'],
        createdBy: issued.createdBy,
        rateLimit: { limit: 100, window: 60 },
        metadata: { ticket: 'OPS-4' },
      });
      expect(lived).toEqual([
        {
          event: 'rotated',
          payload: {
            userId: String(teamId),
            tokenId: issued.id,
            newTokenId: successor.id,
            graceSeconds: 60,
            ownerKind: 'team',
          },
        },
      ]);
      await show(teamId, successor.token).expect(200);
      await show(teamId, issued.token).expect(200);
      demo.clock.advance(61_000);
      await expectRevoked(teamId, issued.token, 'rotated');
      await show(teamId, successor.token).expect(200);
      const again = await demo.http
        .post(`${tokenPath(teamId, issued.id)}/rotate`)
        .set(bearer(personal))
        .send({})
        .expect(409);
      expect(again.body).toMatchObject({ reason: 'token_not_live' });
    });

    it('revokes a rotated team token with its successor, as a lineage', async () => {
      const { member, teamId } = await teamWithToken();
      const teamTokens = demo.app.get(TeamTokensService);
      const first = await teamTokens.issue(teamId, member.id, { name: 'lineage', scopes: ['teams:read'] });
      const second = await teamTokens.rotate(teamId, first.accessToken.id, { graceSeconds: 600 });
      await show(teamId, first.token).expect(200);
      await teamTokens.revoke(teamId, second.accessToken.id);
      await expectRevoked(teamId, second.token, 'revoked_by_user');
      await expectRevoked(teamId, first.token, 'revoked_by_user');
    });

    it('rotates a team token once when two rotations race: the other is 409', async () => {
      const { member, teamId } = await teamWithToken();
      const teamTokens = demo.app.get(TeamTokensService);
      const { accessToken } = await teamTokens.issue(teamId, member.id, { name: 'raced', scopes: ['teams:read'] });
      const results = await Promise.allSettled([
        teamTokens.rotate(teamId, accessToken.id),
        teamTokens.rotate(teamId, accessToken.id),
      ]);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const [refused] = results.filter((result) => result.status === 'rejected');
      expect(refused!.reason).toBeInstanceOf(errors.TokenNotLiveError);
      const live = (await teamTokens.list(teamId)).filter((view) => view.name === 'raced' && view.revokedAt === null);
      expect(live).toHaveLength(1);
    });

    it("rotates no token of a blocked team, and none of another owner's", async () => {
      const { member, teamId } = await teamWithToken();
      const teamTokens = demo.app.get(TeamTokensService);
      const { accessToken } = await teamTokens.issue(teamId, member.id, { name: 'blocked soon' });
      // A member's own token is no team's.
      const [own] = await demo.app.get(TokensService).list(member.id);
      await expect(teamTokens.rotate(teamId, own!.id)).rejects.toBeInstanceOf(errors.TokenNotFoundError);
      await expect(teamTokens.update(teamId, own!.id, { enabled: false })).rejects.toBeInstanceOf(
        errors.TokenNotFoundError,
      );
      // Nor does the member's service reach the team's.
      await expect(demo.app.get(TokensService).pause(teamId, accessToken.id)).rejects.toBeInstanceOf(
        errors.TokenNotFoundError,
      );
      await teams.update({ id: teamId }, { blocked: true });
      await expect(teamTokens.rotate(teamId, accessToken.id)).rejects.toBeInstanceOf(errors.TeamBlockedError);
    });

    it('changes and rotates team tokens for members only: 403 for a non-member, 404 for no such team or token', async () => {
      const { personal, teamId, issued } = await issuedThroughDemo({});
      const other = await issuedThroughDemo({});
      const stranger = await client.signUp('stranger');
      const theirs = await client.personal(stranger.username);
      await demo.http.patch(tokenPath(teamId, issued.id)).set(bearer(theirs)).send({ enabled: false }).expect(403);
      await demo.http
        .post(`${tokenPath(teamId, issued.id)}/rotate`)
        .set(bearer(theirs))
        .send({})
        .expect(403);
      await demo.http.patch(tokenPath(999_999, issued.id)).set(bearer(theirs)).send({ enabled: false }).expect(404);
      // A member of another team cannot reach this team's token through their own team's path.
      const across = await demo.http
        .patch(tokenPath(other.teamId, issued.id))
        .set(bearer(other.personal))
        .send({ enabled: false })
        .expect(404);
      expect(across.body).toMatchObject({ reason: 'token_not_found' });
      await demo.http
        .post(`${tokenPath(other.teamId, issued.id)}/rotate`)
        .set(bearer(other.personal))
        .expect(404);
      await show(teamId, issued.token).expect(200);
      // The body as PATCH /tokens/:id takes it.
      await demo.http.patch(tokenPath(teamId, issued.id)).set(bearer(personal)).send({ enabled: 'no' }).expect(400);
    });
  });

  it('outlives the member who made it: blocked, then deleted', async () => {
    const { member, teamId, token } = await teamWithToken();
    await demo.http.post(`/users/${member.id}/block`).set(bearer(admin)).expect(204);
    await show(teamId, token).expect(200);
    await users.remove(await users.findOneByOrFail({ id: member.id }));
    demo.clock.advance(PAST_CACHE_TTL_MS);
    await show(teamId, token).expect(200);
    const [view] = await demo.app.get(TeamTokensService).list(teamId);
    expect(view).toMatchObject({ kind: 'team', createdBy: String(member.id), revokedAt: null });
  });
});

/**
 * Every event about a team's token says so (`ownerKind: 'team'`), as `issued` and `revoked` do:
 * `userId` is then the team's id, which a user may have too. One demo instance, its clock moved on
 * for the expiry notice.
 */
describe(`events about team tokens in the demo, on ${testDatabaseKind()}`, () => {
  const DAY = 24 * 60 * 60;
  let demo: DemoApp;
  let client: ReturnType<typeof clientOf>;
  let received: { [E in keyof AccessTokenEventMap]?: AccessTokenEventMap[E][] };

  beforeAll(async () => {
    demo = await startDemoApp({ admin: ADMIN });
    client = clientOf(demo);
    received = {};
    const events = demo.app.get(AccessTokenEvents);
    for (const name of ['first_used', 'verification_failed', 'canary_used', 'expiring'] as const) {
      const list: AccessTokenEventMap[typeof name][] = [];
      received[name] = list as never;
      events.on(name, (event) => void list.push(event as never));
    }
  });

  afterAll(async () => {
    await demo?.close();
  });

  /** A member's personal token, their team and a token of it (issued through the demo, for 30 days), with its id. */
  async function teamWithToken() {
    const member = await client.signUp();
    const personal = await client.personal(member.username);
    const teamId = await client.team(personal);
    const token = await client.teamToken(personal, teamId);
    const [view] = await demo.app.get(TeamTokensService).list(teamId);
    return { personal, teamId, token, tokenId: view!.id };
  }

  const show = (teamId: number, token: string) => demo.http.get(`/teams/${teamId}`).set(bearer(token));
  const about = <E extends keyof AccessTokenEventMap>(name: E, tokenId: string) =>
    (received[name] as { tokenId: string | null }[]).filter((event) => event.tokenId === tokenId);

  it("announces a team token's first use with ownerKind 'team', a personal token's without", async () => {
    const { personal, teamId, token, tokenId } = await teamWithToken();
    await show(teamId, token).expect(200);
    // Uses are written off the request path; listing flushes them, and first_used follows the write.
    await demo.app.get(TeamTokensService).list(teamId);
    expect(about('first_used', tokenId)).toEqual([
      {
        userId: String(teamId),
        tokenId,
        address: '127.0.0.1',
        userAgent: null,
        at: expect.any(Date),
        ownerKind: 'team',
      },
    ]);
    const [mine] = await demo.app
      .get(TokensService)
      .list((await demo.http.get('/users/me').set(bearer(personal))).body.id);
    expect(about('first_used', mine!.id)).toHaveLength(1);
    expect(about('first_used', mine!.id)[0]).not.toHaveProperty('ownerKind');
  });

  it("announces a team token's refusal with ownerKind 'team': invalid, and by its usage policy", async () => {
    const { teamId, token, tokenId } = await teamWithToken();
    await demo.dataSource.getRepository(Team).update({ id: teamId }, { blocked: true });
    await show(teamId, token).expect(401);
    expect(about('verification_failed', tokenId)).toEqual([
      { reason: 'blocked', tokenId, userId: String(teamId), address: '127.0.0.1', ownerKind: 'team' },
    ]);
    // A policy that lets no address of the test's through.
    const other = await teamWithToken();
    const fenced = await demo.app
      .get(TeamTokensService)
      .issue(other.teamId, 1, { name: 'fenced', scopes: ['teams:read'], allowedIps: ['10.0.0.0/8'] });
    expect((await show(other.teamId, fenced.token).expect(403)).body.reason).toBe('ip_not_allowed');
    expect(about('verification_failed', fenced.accessToken.id)).toEqual([
      {
        reason: 'ip_not_allowed',
        tokenId: fenced.accessToken.id,
        userId: String(other.teamId),
        address: '127.0.0.1',
        ownerKind: 'team',
      },
    ]);
  });

  it("announces a team's canary with ownerKind 'team', and its refusal as an unknown token's", async () => {
    const { teamId, token, tokenId } = await teamWithToken();
    // TeamTokensService issues no canary yet: a team's row made one, as the verification reads it.
    await demo.dataSource.getRepository(AccessToken).update({ id: tokenId }, { canary: true });
    expect((await show(teamId, token).expect(401)).body.reason).toBe('unknown');
    expect(about('canary_used', tokenId)).toEqual([
      {
        userId: String(teamId),
        tokenId,
        name: 'deploys',
        address: '127.0.0.1',
        userAgent: null,
        at: expect.any(Date),
        ownerKind: 'team',
      },
    ]);
    // The refusal tells nothing of the token, its owner's kind included.
    expect(received.verification_failed!.at(-1)).toEqual({
      reason: 'unknown',
      tokenId: null,
      userId: null,
      address: '127.0.0.1',
    });
  });

  it("sends the expiry notice of a team's token, with ownerKind 'team'", async () => {
    const { teamId, tokenId } = await teamWithToken();
    const tokens = demo.app.get(TokensService);
    await tokens.notifyExpiring();
    expect(about('expiring', tokenId)).toEqual([]);
    // Issued for 30 days; the notice comes 7 days before.
    demo.clock.advance(23 * DAY + 1);
    await tokens.notifyExpiring();
    await tokens.notifyExpiring();
    const [view] = await demo.app.get(TeamTokensService).list(teamId);
    expect(about('expiring', tokenId)).toEqual([
      { userId: String(teamId), tokenId, name: 'deploys', expiresAt: view!.expiresAt, ownerKind: 'team' },
    ]);
  });
});

const REDIS_URL = 'redis://127.0.0.1:6379';
type CacheBusOptions = NonNullable<Exclude<AccessTokensModuleOptions['cache'], false>>['bus'] & object;
const buses: [string, () => CacheBusOptions][] = [
  ['Redis pub/sub', () => ({ type: 'redis', url: REDIS_URL, channel: `nat_test_${randomBytes(4).toString('hex')}` })],
];
if (testDatabaseKind() === 'postgres') {
  buses.push([
    'PostgreSQL LISTEN/NOTIFY',
    () => ({ type: 'postgres', channel: `nat_test_${randomBytes(4).toString('hex')}` }),
  ]);
}
const BUS_CASES = buses.flatMap(([name, bus]) => HTTP_ADAPTERS.map((server) => ({ name, bus, ...server })));

/** Asks until the answer is `status`, for at most `ms`: the bus delivers on its own time. */
async function until(ask: () => Promise<number>, status: number, ms = 3000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if ((await ask()) === status) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`still not ${status} after ${ms} ms`);
}

describe.each(BUS_CASES)(
  `team tokens on two demo instances through $name, on $server, on ${testDatabaseKind()}`,
  ({ bus, adapter }) => {
    let database: TestDatabase;
    let a: DemoApp;
    let b: DemoApp;

    beforeAll(async () => {
      database = await createTestDatabase();
      // A long TTL: only the bus can explain a fresh answer on B.
      const cache = { ttlSeconds: 3600, bus: bus() };
      a = await startDemoApp({ admin: ADMIN, httpAdapter: adapter, cache }, undefined, database);
      b = await startDemoApp({ admin: ADMIN, httpAdapter: adapter, cache }, undefined, database);
    });

    afterAll(async () => {
      await a?.close();
      await b?.close();
      await database?.drop();
    });

    it("carries a team's block on A to B's cache at once", async () => {
      const client = clientOf(a);
      const admin = await client.personal(ADMIN.username, ADMIN.password);
      const member = await client.signUp();
      const personal = await client.personal(member.username);
      const teamId = await client.team(personal);
      const token = await client.teamToken(personal, teamId);
      const askB = async () => (await b.http.get(`/teams/${teamId}`).set(bearer(token))).status;
      expect(await askB()).toBe(200);
      await a.http.post(`/teams/${teamId}/block`).set(bearer(admin)).expect(204);
      await until(askB, 401);
      expect((await b.http.get(`/teams/${teamId}`).set(bearer(token))).body).toMatchObject({ reason: 'blocked' });
    });

    it("carries a change of the team's permissions on A to B's cache", async () => {
      const client = clientOf(a);
      const member = await client.signUp('perm');
      const personal = await client.personal(member.username);
      const teamId = await client.team(personal);
      const token = await client.teamToken(personal, teamId);
      const askB = async () => (await b.http.get(`/teams/${teamId}`).set(bearer(token))).status;
      expect(await askB()).toBe(200);
      const teams = a.dataSource.getRepository(Team);
      await teams.save({ ...(await teams.findOneByOrFail({ id: teamId })), permissions: ['teams:write'] });
      await until(askB, 403);
    });
  },
);
