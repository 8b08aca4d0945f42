// On Express only, as races.e2e-spec.ts: the race is the database's, in which the HTTP server plays
// no part, and on Fastify too it would double its ~20 s per database.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import bcrypt from 'bcrypt';
import request from 'supertest';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { Account, basic, COST, startPasswordApp, type PasswordApp } from './fixtures/password-app.js';

/** How many times the race is run: a race lost once in a while still fails the spec. */
const RUNS = 20;
const PASSWORD = 'correct horse battery';

/**
 * The module's promise about watched user fields, on a fixture app (no code of the demo's): the
 * ready-made login and generate routes race the app's own password change, a `save()` of a new
 * bcrypt hash. Whatever order they run in, once the change has committed no credential got with
 * the old password works: those issued before it are revoked by it, those issued after it from
 * the old row carry the old fingerprint.
 */
describe(`credential races on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  let fixture: PasswordApp;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    database = await createTestDatabase();
    fixture = await startPasswordApp({ database: database.options, extras: { routes: true } });
    http = request(fixture.app.getHttpServer());
  });

  afterAll(async () => {
    await fixture?.app.close();
    await database?.drop();
  });

  it(`no credential got with the old password works once a password change commits (${RUNS} runs)`, async () => {
    const accounts = fixture.dataSource.getRepository(Account);
    let checked = 0;
    for (let run = 0; run < RUNS; run++) {
      // A new window for the password throttling, which counts every attempt of this client.
      fixture.clock.advance(61);
      const email = `race-${run}@example.com`;
      const id = await fixture.addAccount(email, PASSWORD);
      const newPassword = `new password ${run}`;
      const [, ...answers] = await Promise.all([
        // The app's password change, as an app writes it: a new hash, then save(), which the module watches.
        bcrypt.hash(newPassword, COST).then((pwd) => accounts.save({ id, pwd })),
        ...Array.from({ length: 4 }, () => http.post('/auth/login').send({ username: email, password: PASSWORD })),
        ...Array.from({ length: 2 }, () =>
          http
            .post('/tokens/generate')
            .set('Authorization', basic(email, PASSWORD))
            .send({ name: `race ${run}` }),
        ),
      ]);
      // The change has committed: whatever came back must be refused now.
      for (const answer of answers) {
        expect([200, 201, 401]).toContain(answer.status);
        if (answer.status === 401) continue;
        const { accessToken, refreshToken, token: personal } = answer.body as Record<string, string | undefined>;
        const credential = accessToken ?? personal;
        expect(credential).toEqual(expect.any(String));
        await http.get('/me').set('Authorization', `Bearer ${credential}`).expect(401);
        if (refreshToken) await http.post('/auth/refresh').send({ refreshToken }).expect(401);
        checked++;
      }
      // The new password works: what was refused above was the old one.
      await http.post('/auth/login').send({ username: email, password: newPassword }).expect(200);
    }
    // Some requests won the race in 20 runs, or the spec proved nothing.
    expect(checked).toBeGreaterThan(0);
  }, 90_000);
});
