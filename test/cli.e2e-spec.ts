import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { runCli, type CliRun } from './fixtures/cli-process.js';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { databaseUrl, startServer, type ServerProcess } from './fixtures/server-process.js';
import { TEST_SECRET } from './fixtures/secrets.js';

const TOKEN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY_MS = 24 * 3600 * 1000;

/**
 * The built demo CLI (`npm run tokens --` runs `node dist/src/cli.js`) in processes of its own, on
 * a fresh database, beside the built demo API on the same database: what an operator types, and
 * what the API then answers. On SQLite: each run starts the whole demo (about 4 s of CPU), and what
 * the CLI does with its database is the services', tested on each; cli-databases.e2e-spec.ts runs
 * it on PostgreSQL and MariaDB.
 */
describe(`the demo's tokens CLI (node dist/src/cli.js), on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  let url: string;
  let server: ServerProcess;
  let api: ReturnType<typeof request>;
  /** The test's own look at the database. */
  let dataSource: DataSource;

  /** The server's secret, as an operator would export it; on SQLite, the file beside the database. */
  const environment = (): Record<string, string> => ({
    DATABASE_URL: url,
    ...(database.kind === 'sqlite' ? {} : { TOKEN_SECRET: TEST_SECRET }),
  });

  const cli = (args: string[], env: Record<string, string> = environment()): Promise<CliRun> => runCli(args, env);

  /** What a change would show: the tokens' rows, and the users. */
  async function snapshot(): Promise<unknown> {
    return {
      tokens: await dataSource.query(
        'SELECT id, user_id, name, scopes, expires_at, revoked_at, revoked_reason FROM access_tokens ORDER BY id',
      ),
      users: await dataSource.query('SELECT id, username FROM users ORDER BY id'),
    };
  }

  /** A token of alice's that outlives the tests before revoke-all. */
  let ciToken: string;

  const me = (token: string) => api.get('/users/me').set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    database = await createTestDatabase();
    url = databaseUrl(database);
    // Out of the box: the CLI's first run on an empty database migrates it (and, on SQLite, makes
    // the secret the server then reads), and finds no user.
    const first = await cli(['list', '--user', 'alice']);
    expect(first).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: unknown user "alice": no user has username "alice"\n',
    });
    // Cache off: each request reads the database, as an instance that did not see the token before.
    server = await startServer({ DATABASE_URL: url, TOKEN_CACHE: 'off' });
    api = request(server.url);
    await api.post('/users').send({ username: 'alice', password: 'correct horse battery' }).expect(201);
    dataSource = await new DataSource(database.options).initialize();
  }, 120_000);

  afterAll(async () => {
    await dataSource?.destroy();
    await server?.stop();
    await database?.drop();
  });

  it('issues a token: printed alone on stdout, once, and the API takes it', async () => {
    const issued = await cli([
      'issue',
      '--user',
      'alice',
      '--name',
      'deploy',
      '--scopes',
      'users:read',
      '--expires-in',
      '3600',
    ]);
    expect(issued.code).toBe(0);
    expect(issued.stdout).toMatch(/^nat_[0-9A-Za-z]+\n$/);
    const token = issued.stdout.trim();
    expect(issued.stderr).toMatch(
      /^Issued token [0-9a-f-]{36} "deploy" \(nat_…\w{4}\) to "alice", scopes users:read, expires \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\. It is shown this once: store it now\.\n$/,
    );
    expect(issued.stderr).not.toContain(token);
    const body = (await me(token).expect(200)).body as { username: string };
    expect(body.username).toBe('alice');
    // Only its hash is stored.
    expect(JSON.stringify(await dataSource.query('SELECT * FROM access_tokens'))).not.toContain(token);
  }, 60_000);

  it('issues with --json, and lists the token as a table and as JSON', async () => {
    const issued = await cli([
      'issue',
      '--user',
      'alice',
      '--name',
      'CI on my laptop',
      '--scopes',
      'users:read, tokens:read',
      '--expires-in',
      '86400',
      '--json',
    ]);
    expect(issued.code).toBe(0);
    const created = JSON.parse(issued.stdout) as {
      token: string;
      accessToken: { id: string; expiresAt: string; createdAt: string };
      user: unknown;
    };
    expect(created).toEqual({
      token: expect.stringMatching(/^nat_/),
      user: { id: expect.any(Number), username: 'alice' },
      accessToken: expect.objectContaining({
        kind: 'personal',
        name: 'CI on my laptop',
        scopes: ['users:read', 'tokens:read'],
        status: 'live',
        revokedAt: null,
        lastUsedAt: null,
      }),
    });
    expect(Date.parse(created.accessToken.expiresAt) - Date.parse(created.accessToken.createdAt)).toBeGreaterThan(
      86_399_000,
    );
    expect(issued.stderr).toBe('');
    ciToken = created.token;
    await me(ciToken).expect(200);

    const listed = await cli(['list', '--user', 'alice', '--json']);
    expect(listed.code).toBe(0);
    const { user, tokens } = JSON.parse(listed.stdout) as {
      user: unknown;
      tokens: { id: string; name: string; status: string; lastUsedAt: string | null }[];
    };
    expect(user).toEqual(created.user);
    expect(tokens.map((token) => [token.name, token.status])).toEqual([
      ['CI on my laptop', 'live'],
      ['deploy', 'live'],
    ]);
    // The use through the API is recorded.
    expect(tokens[0]!.lastUsedAt).not.toBeNull();

    const table = await cli(['list', '--user', 'alice']);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(
      /^ID +NAME +SCOPES +HINT +CREATED +EXPIRES +LAST USED +RATE LIMIT +USES LEFT +ALLOWED IPS +STATUS$/,
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(
      new RegExp(
        `^${created.accessToken.id}  CI on my laptop  users:read,tokens:read  nat_…\\w{4} +\\d{4}-.+Z  +\\d{4}-.+Z  +\\d{4}-.+Z  +none +unlimited +any +live$`,
      ),
    );
  }, 60_000);

  it('revokes a token by id: the API refuses it at once; revoking it again changes nothing', async () => {
    const issued = await cli(['issue', '--user', 'alice', '--name', 'to revoke', '--scopes', 'users:read', '--json']);
    const { token, accessToken } = JSON.parse(issued.stdout) as {
      token: string;
      accessToken: { id: string; hint: string };
    };
    const { id, hint } = accessToken;
    expect(id).toMatch(TOKEN_ID);
    await me(token).expect(200);

    expect(await cli(['revoke', id])).toEqual({
      code: 0,
      stdout: `Revoked the token ${id} "to revoke" (${hint}) of "alice"\n`,
      stderr: '',
    });
    const refused = await me(token).expect(401);
    expect(refused.headers['www-authenticate']).toContain('The access token was revoked (revoked_by_admin)');

    const again = await cli(['revoke', id, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      revoked: false,
      accessToken: { id, status: 'revoked', revokedReason: 'revoked_by_admin' },
      user: { username: 'alice' },
    });
  }, 60_000);

  it('issues a token with uses to count, which the API spends; pause and resume work at once', async () => {
    const issued = await cli([
      'issue',
      '--user',
      'alice',
      '--name',
      'metered',
      '--scopes',
      'users:read',
      '--max-uses',
      '2',
      '--json',
    ]);
    const { token, accessToken } = JSON.parse(issued.stdout) as {
      token: string;
      accessToken: { id: string; hint: string };
    };
    expect(accessToken).toMatchObject({ maxUses: 2, usesLeft: 2, enabled: true });
    await me(token).expect(200);

    expect(await cli(['pause', accessToken.id])).toEqual({
      code: 0,
      stdout: `Paused the token ${accessToken.id} "metered" (${accessToken.hint}) of "alice"\n`,
      stderr: '',
    });
    expect((await me(token).expect(401)).body).toMatchObject({ error: 'invalid_token', reason: 'paused' });
    const table = await cli(['list', '--user', 'alice']);
    expect(table.stdout.split('\n').find((row) => row.startsWith(accessToken.id))).toMatch(/ 1\/2 +any +paused$/);

    expect((await cli(['resume', accessToken.id])).code).toBe(0);
    // A refused request spent no use: one is left.
    await me(token).expect(200);
    expect((await me(token).expect(403)).body).toMatchObject({ reason: 'uses_exhausted' });
    expect(await cli(['update', accessToken.id, '--max-uses', 'none'])).toMatchObject({ code: 0 });
    await me(token).expect(200);
  }, 60_000);

  it('refuses what cannot be done with 1 and what to fix, changing nothing', async () => {
    const before = await snapshot();
    const refusals: [string[], string][] = [
      [
        ['issue', '--user', 'bob', '--name', 'x', '--scopes', 'users:read'],
        'error: unknown user "bob": no user has username "bob"\n',
      ],
      [
        ['issue', '--user', 'alice', '--name', 'x', '--scopes', 'users:admin'],
        'error: invalid --scopes: The user may not grant users:admin; they may grant users:read, tokens:read, tokens:write\n',
      ],
      [
        ['revoke', '00000000-0000-4000-8000-000000000000'],
        'error: unknown token id "00000000-0000-4000-8000-000000000000": no token has that id; "list --user <name>" shows a user\'s token ids\n',
      ],
      // A token pasted where the id belongs is not repeated.
      [
        ['revoke', `nat_${'Zx9'.repeat(28)}`],
        'error: unknown token id "nat_Zx9Zx9Zx…": a token id is a UUID, as "list --user <name>" shows it, not the token itself\n',
      ],
    ];
    for (const [args, message] of refusals) expect(await cli(args)).toEqual({ code: 1, stdout: '', stderr: message });
    // Only the name as stored names a user, whatever the database's collation matches (MariaDB's: ALICE).
    const json = await cli(['revoke-all', '--user', 'ALICE', '--json']);
    expect(json).toMatchObject({ code: 1, stdout: '' });
    expect(JSON.parse(json.stderr)).toEqual({
      error: { code: 'unknown_user', message: 'unknown user "ALICE": no user has username "ALICE"' },
    });
    expect(await snapshot()).toEqual(before);
  }, 120_000);

  it('refuses a command line to correct with 2 and what to fix, changing nothing', async () => {
    const before = await snapshot();
    const usage: [string[], string][] = [
      [
        ['frobnicate'],
        'error: unknown command "frobnicate": use issue, list, update, pause, resume, revoke, revoke-all, prune\nRun "npm run tokens -- --help" for usage.\n',
      ],
      [
        [],
        'error: a command is needed: issue, list, update, pause, resume, revoke, revoke-all, prune\nRun "npm run tokens -- --help" for usage.\n',
      ],
      [['list'], 'error: list needs --user <name>, the user name\nRun "npm run tokens -- list --help" for usage.\n'],
      [
        ['issue', '--name', 'x', '--scopes', 'users:read'],
        'error: issue needs --user <name>, the user name\nRun "npm run tokens -- issue --help" for usage.\n',
      ],
      [
        ['issue', '--user', 'alice', '--name', 'x', '--scopes', 'users:read', '--expires-in', '1h'],
        'error: --expires-in must be a positive whole number of seconds, e.g. 3600 for an hour (got "1h")\nRun "npm run tokens -- issue --help" for usage.\n',
      ],
      [
        ['issue', '--user', 'alice', '--name', 'x', '--scopes', 'users:read', '--expires-in', '31536001'],
        'error: --expires-in must be a positive whole number of seconds, at most 31536000 (got 31536001)\nRun "npm run tokens -- issue --help" for usage.\n',
      ],
      [
        ['list', '--user', 'alice', '--verbose'],
        'error: unknown option "--verbose": list takes --user, --json, --help\nRun "npm run tokens -- list --help" for usage.\n',
      ],
      [
        ['revoke'],
        'error: revoke needs the token\'s <id>, as "list --user <name>" shows it\nRun "npm run tokens -- revoke --help" for usage.\n',
      ],
    ];
    for (const [args, message] of usage) expect(await cli(args)).toEqual({ code: 2, stdout: '', stderr: message });
    const json = await cli(['prune', '--user', 'alice', '--json']);
    expect(json).toMatchObject({ code: 2, stdout: '' });
    expect(JSON.parse(json.stderr)).toEqual({
      error: { code: 'cli_usage', message: 'prune does not take --user; it takes --json, --help' },
    });
    expect(await snapshot()).toEqual(before);
  }, 120_000);

  it('revokes every token of a user', async () => {
    const live = (
      (await dataSource.query('SELECT COUNT(*) AS n FROM access_tokens WHERE revoked_at IS NULL')) as {
        n: string | number;
      }[]
    )[0]!.n;
    const revoked = await cli(['revoke-all', '--user', 'alice']);
    expect(revoked).toEqual({ code: 0, stdout: `Revoked ${Number(live)} tokens of "alice"\n`, stderr: '' });
    expect(Number(live)).toBeGreaterThanOrEqual(2);
    expect(await dataSource.query('SELECT id FROM access_tokens WHERE revoked_at IS NULL')).toEqual([]);
    const refused = await me(ciToken).expect(401);
    expect(refused.headers['www-authenticate']).toContain('The access token was revoked (revoked_by_admin)');
    expect(JSON.parse((await cli(['revoke-all', '--user', 'alice', '--json'])).stdout)).toEqual({
      revoked: 0,
      user: { id: expect.any(Number), username: 'alice' },
    });
  }, 90_000);

  it('prunes the tokens past their retention', async () => {
    // Eight days later, as far as the revoked tokens can tell (retention: seven).
    await dataSource.query(
      `UPDATE access_tokens SET revoked_at = revoked_at - ${8 * DAY_MS} WHERE revoked_at IS NOT NULL`,
    );
    const old = (
      (await dataSource.query('SELECT COUNT(*) AS n FROM access_tokens WHERE revoked_at IS NOT NULL')) as {
        n: string | number;
      }[]
    )[0]!.n;
    expect(Number(old)).toBeGreaterThan(0);
    expect(await cli(['prune'])).toEqual({ code: 0, stdout: `Pruned ${Number(old)} tokens\n`, stderr: '' });
    expect(await dataSource.query('SELECT id FROM access_tokens')).toEqual([]);
    expect(await cli(['prune', '--json'])).toEqual({ code: 0, stdout: '{"pruned":0}\n', stderr: '' });
  }, 60_000);

  it('answers --help on stdout with 0, needing no database at all', async () => {
    const help = await cli(['--help'], { DATABASE_URL: 'nowhere://at-all' });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: npm run tokens -- <command> \[options\]\n/);
    expect(help.stdout).toContain(
      'npm run tokens -- issue --user <name> --name <token name> --scopes <a,b> [--expires-in <seconds>]',
    );
    expect(help.stderr).toBe('');
    const issueHelp = await cli(['issue', '--help'], { DATABASE_URL: 'nowhere://at-all' });
    expect(issueHelp).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^Usage: npm run tokens -- issue /),
      stderr: '',
    });
  });

  it('refuses with 1 when the app cannot start, saying why', async () => {
    const broken = await cli(['prune'], { DATABASE_URL: 'nowhere://at-all' });
    expect(broken).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'error: the app could not start: DATABASE_URL must be unset, or start with sqlite:, postgres://, mysql:// or mariadb:// (got "nowhere:…")\n',
    });
    if (database.kind !== 'sqlite') {
      const secretless = await cli(['prune'], { DATABASE_URL: url, TOKEN_SECRET: '' });
      expect(secretless.code).toBe(1);
      expect(secretless.stderr).toMatch(/^error: the app could not start: TOKEN_SECRET must be set for a \w+ database/);
    }
  }, 60_000);

  it('revokes at once on every instance sharing a cache bus with it', async () => {
    const bus = { TOKEN_CACHE_BUS: 'redis://127.0.0.1:6379' };
    const cached = await startServer({ DATABASE_URL: url, ...bus });
    try {
      const issued = await cli(['issue', '--user', 'alice', '--name', 'cached', '--scopes', 'users:read', '--json'], {
        ...environment(),
        ...bus,
      });
      const { token, accessToken } = JSON.parse(issued.stdout) as { token: string; accessToken: { id: string } };
      // Verified, and so cached for as long as the bus is up.
      await request(cached.url).get('/users/me').set('Authorization', `Bearer ${token}`).expect(200);
      await request(cached.url).get('/users/me').set('Authorization', `Bearer ${token}`).expect(200);
      expect((await cli(['revoke', accessToken.id], { ...environment(), ...bus })).code).toBe(0);
      await request(cached.url).get('/users/me').set('Authorization', `Bearer ${token}`).expect(401);
    } finally {
      await cached.stop();
    }
  }, 90_000);
});
