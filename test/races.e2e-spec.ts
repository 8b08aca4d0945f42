// On Express only: this spec replays database races, in which the HTTP server plays no part, and
// on Fastify too it would double its ~20 s per database (it passes there as well).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testDatabaseKind } from './fixtures/database.js';
import { basicAuth, startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { replayRefreshRace, type SessionClient } from './fixtures/session-races.js';

const PASSWORD = 'correct horse battery';
/** How many times each race is run: a race lost once in a while still fails the spec. */
const RUNS = 20;

/** Invariants of the demo when requests race, each race replayed `RUNS` times. */
describe(`races on ${testDatabaseKind()}`, () => {
  let demo: DemoApp;
  let serial = 0;

  beforeAll(async () => {
    demo = await startDemoApp();
  });

  afterAll(async () => {
    await demo?.close();
  });

  async function signUp(): Promise<{ username: string; token: string }> {
    const username = `racer${++serial}`;
    await demo.http.post('/users').send({ username, password: PASSWORD }).expect(201);
    const token = (
      await demo.http.post('/tokens/generate').set('Authorization', basicAuth(username, PASSWORD)).expect(201)
    ).body.token;
    // Cached: the next requests share the verified user object.
    await demo.http.get('/users/me').set('Authorization', `Bearer ${token}`).expect(200);
    return { username, token };
  }

  it(`a rename that loses the race for a name changes nothing anyone sees (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const racers = [await signUp(), await signUp()];
      const wanted = `prize${run}`;
      const answers = await Promise.all(
        racers.map(({ token }) =>
          demo.http
            .patch('/users/me')
            .set('Authorization', `Bearer ${token}`)
            .send({ username: wanted, currentPassword: PASSWORD }),
        ),
      );
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
      const loser = racers[answers.findIndex((answer) => answer.status === 409)]!;
      const me = await demo.http.get('/users/me').set('Authorization', `Bearer ${loser.token}`).expect(200);
      expect(me.body.username).toBe(loser.username);
    }
  });

  it(`no credential got with the old password works once a password change commits (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const { username, token } = await signUp();
      const [changed, ...answers] = await Promise.all([
        demo.http
          .patch('/users/me')
          .set('Authorization', `Bearer ${token}`)
          .send({ password: `new password ${run}`, currentPassword: PASSWORD }),
        ...Array.from({ length: 4 }, () => demo.http.post('/auth/login').send({ username, password: PASSWORD })),
        ...Array.from({ length: 2 }, () =>
          demo.http.post('/tokens/generate').set('Authorization', basicAuth(username, PASSWORD)),
        ),
      ]);
      expect(changed!.status).toBe(200);
      for (const answer of answers) {
        expect([200, 201, 401]).toContain(answer.status);
        if (answer.status === 401) continue;
        const { accessToken, refreshToken, token: personal } = answer.body as Record<string, string | undefined>;
        for (const credential of [accessToken, personal].filter(Boolean)) {
          await demo.http.get('/users/me').set('Authorization', `Bearer ${credential}`).expect(401);
        }
        if (refreshToken) await demo.http.post('/auth/refresh').send({ refreshToken }).expect(401);
      }
    }
  });

  it(`after a logout that raced a refresh, nothing of the session works (${RUNS} runs)`, async () => {
    for (let run = 0; run < RUNS; run++) {
      const { username } = await signUp();
      const session = (await demo.http.post('/auth/login').send({ username, password: PASSWORD }).expect(200)).body;
      const [refreshed, loggedOut] = await Promise.all([
        demo.http.post('/auth/refresh').send({ refreshToken: session.refreshToken }),
        demo.http.post('/auth/logout').set('Authorization', `Bearer ${session.accessToken}`),
      ]);
      expect([200, 401]).toContain(refreshed.status);
      expect([204, 401]).toContain(loggedOut.status);
      if (loggedOut.status !== 204) {
        // The refresh won, and revoked the access token before the logout read it: log out with the new one.
        await demo.http.post('/auth/logout').set('Authorization', `Bearer ${refreshed.body.accessToken}`).expect(204);
      }
      for (const token of [session.accessToken, refreshed.body.accessToken].filter(Boolean)) {
        await demo.http.get('/users/me').set('Authorization', `Bearer ${token}`).expect(401);
      }
      for (const refreshToken of [session.refreshToken, refreshed.body.refreshToken].filter(Boolean)) {
        await demo.http.post('/auth/refresh').send({ refreshToken }).expect(401);
      }
    }
  });

  /** The demo's session routes for a new user. */
  async function sessionClient(): Promise<SessionClient> {
    const { username } = await signUp();
    return {
      login: async () => (await demo.http.post('/auth/login').send({ username, password: PASSWORD }).expect(200)).body,
      refresh: (refreshToken) => demo.http.post('/auth/refresh').send({ refreshToken }),
      logout: (accessToken) => demo.http.post('/auth/logout').set('Authorization', `Bearer ${accessToken}`),
      whoAmI: (accessToken) => demo.http.get('/users/me').set('Authorization', `Bearer ${accessToken}`),
    };
  }

  it(`a refresh token refreshed twice at once leaves no pair of its session working (${RUNS} runs)`, async () => {
    await replayRefreshRace(await sessionClient(), RUNS);
  });

  it(`a refresh token refreshed twice at once beside a logout leaves no pair of its session working (${RUNS} runs)`, async () => {
    await replayRefreshRace(await sessionClient(), RUNS, { withLogout: true });
  });
});
