import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testDatabaseKind } from './fixtures/database.js';
import { basicAuth, startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';

const PASSWORD = 'correct horse battery';
const ADMIN = { username: 'root', password: 'admin password 1' };

describe.each(HTTP_ADAPTERS)(
  `demo API on $server: credentials changes and blocking, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    let demo: DemoApp;
    let admin: string;

    beforeAll(async () => {
      demo = await startDemoApp({ admin: ADMIN, httpAdapter: adapter });
      admin = await generate(ADMIN.username, ADMIN.password);
    });

    afterAll(async () => {
      await demo?.close();
    });

    async function signUp(username: string): Promise<number> {
      return (await demo.http.post('/users').send({ username, password: PASSWORD }).expect(201)).body.id as number;
    }

    async function generate(username: string, password = PASSWORD): Promise<string> {
      const response = await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth(username, password))
        .expect(201);
      return response.body.token as string;
    }

    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

    it('creates the admin at start, with users:admin', async () => {
      const response = await demo.http.get('/tokens').set(bearer(admin)).expect(200);
      expect(response.body).toHaveLength(1);
      const token = await demo.http
        .post('/tokens/generate')
        .set(bearer(admin))
        .send({ scopes: ['users:admin'] })
        .expect(201);
      expect(token.body.scopes).toEqual(['users:admin']);
    });

    describe('PATCH /users/me', () => {
      it('changes the password and revokes every token of the user, this one included', async () => {
        await signUp('erin');
        const [first, second] = [await generate('erin'), await generate('erin')];
        const response = await demo.http
          .patch('/users/me')
          .set(bearer(first))
          .send({ password: 'a brand new password', currentPassword: PASSWORD })
          .expect(200);
        expect(response.body).toEqual({ id: expect.any(Number), username: 'erin' });
        for (const token of [first, second]) {
          const refused = await demo.http.get('/users/me').set(bearer(token)).expect(401);
          expect(refused.headers['www-authenticate']).toContain('(password_changed)');
        }
        await demo.http.post('/tokens/generate').set('Authorization', basicAuth('erin', PASSWORD)).expect(401);
        await generate('erin', 'a brand new password');
      });

      it('changes the user name and revokes the tokens', async () => {
        await signUp('frank');
        const token = await generate('frank');
        const renamed = await demo.http
          .patch('/users/me')
          .set(bearer(token))
          .send({ username: 'francis', currentPassword: PASSWORD })
          .expect(200);
        expect(renamed.body.username).toBe('francis');
        const refused = await demo.http.get('/users/me').set(bearer(token)).expect(401);
        expect(refused.body.revokedReason).toBe('username_changed');
        await generate('francis');
      });

      it('needs the current password, and changes nothing without it', async () => {
        await signUp('gina');
        const token = await generate('gina');
        const wrong = await demo.http
          .patch('/users/me')
          .set(bearer(token))
          .send({ password: 'another password', currentPassword: 'wrong!!!' })
          .expect(403);
        expect(wrong.body.message).toContain('currentPassword');
        await demo.http.patch('/users/me').set(bearer(token)).send({ password: 'another password' }).expect(400);
        await demo.http.get('/users/me').set(bearer(token)).expect(200);
      });

      it('refuses a taken name with 409 and keeps the tokens', async () => {
        await signUp('hank');
        const token = await generate('hank');
        await demo.http
          .patch('/users/me')
          .set(bearer(token))
          .send({ username: 'root', currentPassword: PASSWORD })
          .expect(409);
        await demo.http.get('/users/me').set(bearer(token)).expect(200);
      });
    });

    describe('blocking', () => {
      it('refuses the tokens and the password of a blocked user, and unblocking revives neither the old tokens', async () => {
        const id = await signUp('ivan');
        const token = await generate('ivan');
        await demo.http.post(`/users/${id}/block`).set(bearer(admin)).expect(204);
        const refused = await demo.http.get('/users/me').set(bearer(token)).expect(401);
        expect(refused.body).toMatchObject({ reason: 'user_blocked' });
        await demo.http.post('/tokens/generate').set('Authorization', basicAuth('ivan', PASSWORD)).expect(401);
        await demo.http.post(`/users/${id}/unblock`).set(bearer(admin)).expect(204);
        // Revoked by the block: unblocking leaves it revoked, and it says why.
        const revoked = await demo.http.get('/users/me').set(bearer(token)).expect(401);
        expect(revoked.body).toMatchObject({ reason: 'revoked', revokedReason: 'blocked' });
        const fresh = await generate('ivan');
        await demo.http.get('/users/me').set(bearer(fresh)).expect(200);
      });

      it('needs users:admin', async () => {
        const id = await signUp('judy');
        const token = await generate('judy');
        const response = await demo.http.post(`/users/${id}/block`).set(bearer(token)).expect(403);
        expect(response.headers['www-authenticate']).toContain('scope="users:admin"');
        await demo.http.post('/users/99999/block').set(bearer(admin)).expect(404);
      });
    });
  },
);
