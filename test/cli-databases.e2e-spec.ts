import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { runCli } from './fixtures/cli-process.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { databaseUrl, startServer, type ServerProcess } from './fixtures/server-process.js';
import { TEST_SECRET } from './fixtures/secrets.js';

/**
 * The demo's CLI on each database, from its DATABASE_URL: its first run migrates an empty
 * database, and a token it issues and revokes is taken and then refused by the API on the same
 * database. The rest of what the CLI does is cli.e2e-spec.ts's, on SQLite.
 */
describe(`the demo's tokens CLI on ${testDatabaseKind()}, from its DATABASE_URL`, () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = {
      DATABASE_URL: databaseUrl(database),
      ...(database.kind === 'sqlite' ? {} : { TOKEN_SECRET: TEST_SECRET }),
    };
    expect(await runCli(['list', '--user', 'alice'], env)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: unknown user "alice": no user has username "alice"\n',
    });
    server = await startServer({ ...env, TOKEN_CACHE: 'off' });
    await request(server.url).post('/users').send({ username: 'alice', password: 'correct horse battery' }).expect(201);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('issues a token the API takes, and revokes it: the API refuses it at once', async () => {
    const issued = await runCli(
      ['issue', '--user', 'alice', '--name', 'deploy', '--scopes', 'users:read', '--json'],
      env,
    );
    expect(issued.code).toBe(0);
    const { token, accessToken } = JSON.parse(issued.stdout) as { token: string; accessToken: { id: string } };
    const me = () => request(server.url).get('/users/me').set('Authorization', `Bearer ${token}`);
    expect((await me().expect(200)).body).toMatchObject({ username: 'alice' });
    expect((await runCli(['revoke', accessToken.id], env)).code).toBe(0);
    expect((await me().expect(401)).body).toMatchObject({ reason: 'revoked', revokedReason: 'revoked_by_admin' });
  }, 60_000);
});
