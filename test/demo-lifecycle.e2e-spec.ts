import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Logger } from '@nestjs/common';
import { TokenAuditLog } from '../src/tokens/token-audit.log.js';
import { testDatabaseKind } from './fixtures/database.js';
import { basicAuth, startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';

const PASSWORD = 'correct horse battery';

describe.each(HTTP_ADAPTERS)(
  `demo API on $server: rotation, renaming and login sessions, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    let demo: DemoApp;
    let kim: string;

    beforeAll(async () => {
      demo = await startDemoApp({ httpAdapter: adapter });
      await demo.http.post('/users').send({ username: 'kim', password: PASSWORD }).expect(201);
      kim = await generate();
    });

    afterAll(async () => {
      await demo?.close();
    });

    async function generate(body: object = {}): Promise<string> {
      const response = await demo.http
        .post('/tokens/generate')
        .set('Authorization', basicAuth('kim', PASSWORD))
        .send(body)
        .expect(201);
      return response.body.token as string;
    }

    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
    const login = () => demo.http.post('/auth/login').send({ username: 'kim', password: PASSWORD }).expect(200);

    it("keeps an audit log of its tokens' events, through @nestjs/event-emitter, with no token in it", async () => {
      const { logger } = demo.app.get(TokenAuditLog) as unknown as { logger: Logger };
      const lines: string[] = [];
      const log = jest.spyOn(logger, 'log').mockImplementation((message: unknown) => void lines.push(String(message)));
      try {
        const userId = (await demo.http.get('/users/me').set(bearer(kim)).expect(200)).body.id as string;
        const created = await demo.http.post('/tokens').set(bearer(kim)).send({ name: 'audited' }).expect(201);
        const rotated = await demo.http
          .post(`/tokens/${created.body.id}/rotate`)
          .set(bearer(kim))
          .send({ graceSeconds: 30 })
          .expect(201);
        await demo.http.delete(`/tokens/${rotated.body.id}`).set(bearer(kim)).expect(204);
        await demo.http.get('/users/me').set(bearer(rotated.body.token)).expect(401);
        const { id } = created.body as { id: string };
        expect(lines).toEqual([
          expect.stringMatching(new RegExp(`^user ${userId}: token ${id} "audited" issued, scopes `)),
          `user ${userId}: token ${rotated.body.id} "audited" issued, scopes ${rotated.body.scopes.join(' ')}`,
          `user ${userId}: tokens ${id} revoked (rotated)`,
          `user ${userId}: token ${id} rotated into ${rotated.body.id}, 30 s of grace`,
          expect.stringMatching(
            new RegExp(
              `^user ${userId}: tokens (${id}, ${rotated.body.id}|${rotated.body.id}, ${id}) revoked \\(revoked_by_user\\)$`,
            ),
          ),
        ]);
        for (const token of [created.body.token as string, rotated.body.token as string])
          expect(lines.join('\n')).not.toContain(token.slice(4));
      } finally {
        log.mockRestore();
      }
    });

    describe('PATCH /tokens/:id and POST /tokens/:id/rotate', () => {
      it('renames a token', async () => {
        const created = await demo.http.post('/tokens').set(bearer(kim)).send({ name: 'old name' }).expect(201);
        const renamed = await demo.http
          .patch(`/tokens/${created.body.id}`)
          .set(bearer(kim))
          .send({ name: 'new name' })
          .expect(200);
        expect(renamed.body).toMatchObject({ id: created.body.id, name: 'new name' });
        await demo.http.patch(`/tokens/${created.body.id}`).set(bearer(kim)).send({ name: '' }).expect(400);
        await demo.http.patch('/tokens/unknown').set(bearer(kim)).send({ name: 'x' }).expect(404);
      });

      it('rotates a token: a new raw token, the same name and scopes, and the old one revoked', async () => {
        const created = await demo.http
          .post('/tokens')
          .set(bearer(kim))
          .send({ name: 'ci', scopes: ['users:read'] })
          .expect(201);
        const rotated = await demo.http.post(`/tokens/${created.body.id}/rotate`).set(bearer(kim)).expect(201);
        expect(rotated.body).toMatchObject({
          name: 'ci',
          scopes: ['users:read'],
          token: expect.stringMatching(/^nat_/),
        });
        expect(rotated.body.token).not.toBe(created.body.token);
        await demo.http.get('/users/me').set(bearer(rotated.body.token)).expect(200);
        const old = await demo.http.get('/users/me').set(bearer(created.body.token)).expect(401);
        expect(old.headers['www-authenticate']).toContain('(rotated)');
        await demo.http.post(`/tokens/${created.body.id}/rotate`).set(bearer(kim)).expect(409);
      });

      it('keeps the old token for graceSeconds', async () => {
        const created = await demo.http.post('/tokens').set(bearer(kim)).send({ name: 'graceful' }).expect(201);
        await demo.http
          .post(`/tokens/${created.body.id}/rotate`)
          .set(bearer(kim))
          .send({ graceSeconds: 30 })
          .expect(201);
        demo.clock.advance(29);
        await demo.http.get('/users/me').set(bearer(created.body.token)).expect(200);
        demo.clock.advance(1);
        await demo.http.get('/users/me').set(bearer(created.body.token)).expect(401);
      });

      it('lets a token rotate only tokens within its own scopes', async () => {
        const narrow = await generate({ scopes: ['tokens:write'] });
        const wide = await demo.http.post('/tokens').set(bearer(kim)).send({ name: 'wide' }).expect(201);
        const response = await demo.http.post(`/tokens/${wide.body.id}/rotate`).set(bearer(narrow)).expect(400);
        expect(response.body.error).toBe('invalid_scope');
      });
    });

    describe('login sessions', () => {
      it('logs in with a password: an access token, a refresh token, and the user', async () => {
        const response = await login();
        expect(response.body).toEqual({
          accessToken: expect.stringMatching(/^nat_s_[0-9A-Za-z]{83}$/),
          refreshToken: expect.stringMatching(/^nat_r_[0-9A-Za-z]{83}$/),
          expiresIn: 900,
          user: { id: expect.any(Number), username: 'kim' },
        });
        await demo.http.get('/users/me').set(bearer(response.body.accessToken)).expect(200);
        const refreshAsBearer = await demo.http.get('/users/me').set(bearer(response.body.refreshToken)).expect(401);
        expect(refreshAsBearer.body.reason).toBe('malformed');
      });

      it('answers a wrong password and an unknown user alike', async () => {
        const wrong = await demo.http
          .post('/auth/login')
          .send({ username: 'kim', password: 'wrong password' })
          .expect(401);
        const unknown = await demo.http
          .post('/auth/login')
          .send({ username: 'nobody', password: PASSWORD })
          .expect(401);
        expect(wrong.body).toEqual(unknown.body);
        await demo.http.post('/auth/login').send({ username: 'kim' }).expect(400);
      });

      it('expires the access token after sessions.accessLifetimeSeconds, and refreshes into a new pair', async () => {
        const first = await login();
        demo.clock.advance(900);
        expect((await demo.http.get('/users/me').set(bearer(first.body.accessToken)).expect(401)).body.reason).toBe(
          'expired',
        );
        const second = await demo.http
          .post('/auth/refresh')
          .send({ refreshToken: first.body.refreshToken })
          .expect(200);
        expect(Object.keys(second.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken']);
        await demo.http.get('/users/me').set(bearer(second.body.accessToken)).expect(200);
      });

      it('revokes the previous access token on refresh', async () => {
        const first = await login();
        const second = await demo.http
          .post('/auth/refresh')
          .send({ refreshToken: first.body.refreshToken })
          .expect(200);
        expect(
          (await demo.http.get('/users/me').set(bearer(first.body.accessToken)).expect(401)).body.revokedReason,
        ).toBe('refreshed');
        await demo.http.get('/users/me').set(bearer(second.body.accessToken)).expect(200);
      });

      it('revokes the whole session when a used refresh token comes back', async () => {
        const first = await login();
        const second = await demo.http
          .post('/auth/refresh')
          .send({ refreshToken: first.body.refreshToken })
          .expect(200);
        const replay = await demo.http
          .post('/auth/refresh')
          .send({ refreshToken: first.body.refreshToken })
          .expect(401);
        expect(replay.body).toMatchObject({ reason: 'revoked', revokedReason: 'refresh_token_reused' });
        expect(
          (await demo.http.get('/users/me').set(bearer(second.body.accessToken)).expect(401)).body.revokedReason,
        ).toBe('refresh_token_reused');
        await demo.http.post('/auth/refresh').send({ refreshToken: second.body.refreshToken }).expect(401);
      });

      it('lets at most one of two concurrent refreshes with the same token win, and the other, a reuse, ends the session', async () => {
        const first = await login();
        const answers = await Promise.all([
          demo.http.post('/auth/refresh').send({ refreshToken: first.body.refreshToken }),
          demo.http.post('/auth/refresh').send({ refreshToken: first.body.refreshToken }),
        ]);
        // Which comes first under the user's lock decides whether the winner answers at all (RFC 9700
        // §4.14.2: once a reuse is seen, nothing of the session works, the winner's new pair included).
        expect(answers.map((answer) => answer.status).sort()).toContainEqual(401);
        expect(answers.filter((answer) => answer.status === 200).length).toBeLessThanOrEqual(1);
        expect(answers.find((answer) => answer.status === 401)!.body).toMatchObject({
          reason: 'revoked',
          revokedReason: 'refresh_token_reused',
        });
        for (const { body } of answers.filter((answer) => answer.status === 200)) {
          await demo.http.get('/users/me').set(bearer(body.accessToken)).expect(401);
        }
      });

      it('expires the refresh token after sessions.refreshLifetimeSeconds', async () => {
        const first = await login();
        demo.clock.advance(7 * 24 * 3600);
        expect(
          (await demo.http.post('/auth/refresh').send({ refreshToken: first.body.refreshToken }).expect(401)).body
            .reason,
        ).toBe('expired');
        await demo.http.post('/auth/refresh').send({ refreshToken: 'garbage' }).expect(401);
        await demo.http.post('/auth/refresh').send({}).expect(400);
      });

      it("logs out: the session's tokens are revoked", async () => {
        const session = await login();
        await demo.http.post('/auth/logout').set(bearer(session.body.accessToken)).expect(204);
        expect(
          (await demo.http.get('/users/me').set(bearer(session.body.accessToken)).expect(401)).body.revokedReason,
        ).toBe('logged_out');
        await demo.http.post('/auth/refresh').send({ refreshToken: session.body.refreshToken }).expect(401);
        await demo.http.post('/auth/logout').set(bearer(kim)).expect(400);
      });

      it('ends sessions when the password changes', async () => {
        await demo.http.post('/users').send({ username: 'lee', password: PASSWORD }).expect(201);
        const session = await demo.http.post('/auth/login').send({ username: 'lee', password: PASSWORD }).expect(200);
        await demo.http
          .patch('/users/me')
          .set(bearer(session.body.accessToken))
          .send({ password: 'another password', currentPassword: PASSWORD })
          .expect(200);
        await demo.http.get('/users/me').set(bearer(session.body.accessToken)).expect(401);
        await demo.http.post('/auth/refresh').send({ refreshToken: session.body.refreshToken }).expect(401);
      });

      it('lists personal tokens and live sessions apart', async () => {
        const session = await login();
        const list = await demo.http.get('/tokens').set(bearer(kim)).expect(200);
        const kinds = new Set(list.body.map((view: { kind: string }) => view.kind));
        expect(kinds).toEqual(new Set(['personal', 'session']));
        const mine = list.body.find((view: { kind: string; revokedAt: string | null }) => view.kind === 'session');
        expect(mine).toMatchObject({ sessionId: expect.any(String), revokedAt: null });
        await demo.http.post('/auth/logout').set(bearer(session.body.accessToken)).expect(204);
      });
    });
  },
);
