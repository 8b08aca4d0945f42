import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Module, type DynamicModule, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { AccessTokensModuleOptions } from '../access-tokens-options.interface.js';
import { AccessTokensModule } from '../access-tokens.module.js';
import { AccessToken } from '../storage/access-token.entity.js';
import { ManualClock } from '../testing/manual-clock.js';
import { TokensService } from '../tokens.service.js';
import type { TokensCliApp } from './tokens-cli.app.js';
import { runTokensCli } from './tokens-cli.js';

@Entity({ name: 'cli_users' })
class CliUser {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 64 })
  login!: string;

  @Column({ type: 'boolean', default: false })
  disabled!: boolean;

  @Column({ type: 'simple-json' })
  grants!: string[];
}

/** Random once, for this spec only. */
const SECRET = 'q3VJ0x8ZmT2rYbN6cWk1sLpE9uHf4GdA7oRiK5zXyQe';

/** A small app on an in-memory SQLite database, its users named by `login`. */
function cliApp(options: Partial<AccessTokensModuleOptions> = {}): DynamicModule {
  @Module({})
  class CliAppModule {}
  return {
    module: CliAppModule,
    imports: [
      TypeOrmModule.forRoot({
        type: 'better-sqlite3',
        database: ':memory:',
        entities: [CliUser, AccessToken],
        synchronize: true,
      }),
      AccessTokensModule.forRoot({
        user: {
          entity: CliUser,
          usernameField: 'login',
          passwordHashField: null,
          blockedField: 'disabled',
          permissions: (user: CliUser) => user.grants,
        },
        secret: SECRET,
        ...options,
      }),
    ],
  };
}

/** What one run printed, and its exit code. */
interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(app: TokensCliApp, line: string | string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const argv = typeof line === 'string' ? line.split(' ').filter((word) => word !== '') : line;
  const code = await runTokensCli(app, argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    program: 'tokens',
  });
  return { code, stdout, stderr };
}

const json = (output: string): Record<string, unknown> => JSON.parse(output) as Record<string, unknown>;

describe('runTokensCli, on an app of its own', () => {
  let clock: ManualClock;
  let context: INestApplicationContext;
  let tokens: TokensService;

  beforeEach(async () => {
    clock = new ManualClock();
    context = await NestFactory.createApplicationContext(
      cliApp({
        clock,
        tokens: { maxPerUser: 5, maxLifetimeSeconds: 86_400, lifetimeSeconds: 3600, idleTimeoutSeconds: 600 },
      }),
      { logger: false, abortOnError: false },
    );
    const users = context.get(DataSource).getRepository(CliUser);
    await users.save([
      users.create({ login: 'alice', grants: ['users:read', 'tokens:read'] }),
      users.create({ login: 'bob', disabled: true, grants: ['users:read'] }),
    ]);
    tokens = context.get(TokensService);
  });

  afterEach(async () => {
    await context.close();
  });

  it('issues a token: the raw token alone on stdout, and it verifies; id and hint on stderr', async () => {
    const issued = await run(context, 'issue --user alice --name deploy --scopes users:read --expires-in 3600');
    expect(issued.code).toBe(0);
    expect(issued.stdout).toMatch(/^nat_[0-9A-Za-z]+\n$/);
    const raw = issued.stdout.trim();
    const verified = await tokens.verify<CliUser>(raw);
    expect(verified.user.login).toBe('alice');
    expect(verified.accessToken).toMatchObject({
      name: 'deploy',
      scopes: ['users:read'],
      expiresAt: new Date(clock.now().getTime() + 3600_000),
    });
    expect(issued.stderr).toContain(
      `Issued token ${verified.accessToken.id} "deploy" (${verified.accessToken.hint}) to "alice"`,
    );
    expect(issued.stderr).not.toContain(raw);
  });

  it("issues with the app's default lifetime when --expires-in is left out", async () => {
    const issued = json((await run(context, 'issue --user alice --name ci --scopes * --json')).stdout);
    expect(issued).toMatchObject({
      token: expect.stringMatching(/^nat_/),
      user: { id: 1, username: 'alice' },
      accessToken: {
        name: 'ci',
        scopes: ['*'],
        status: 'live',
        expiresAt: new Date(clock.now().getTime() + 3600_000).toISOString(),
      },
    });
  });

  it("lists a user's tokens with their status: live, expired, idle, revoked", async () => {
    const ids: Record<string, string> = {};
    for (const [name, expiresIn] of [
      ['short', '60'],
      ['idle', '7200'],
      ['gone', '7200'],
      ['used', '7200'],
    ] as const) {
      const issued = json(
        (await run(context, `issue --user alice --name ${name} --scopes users:read --expires-in ${expiresIn} --json`))
          .stdout,
      );
      ids[name] = (issued.accessToken as { id: string }).id;
      if (name === 'used') await tokens.verify(issued.token as string);
      clock.advance(1);
    }
    await tokens.revoke(1, ids.gone!);
    // Past "short"'s expiry, and past the idle timeout of every token unused since its issue.
    clock.advance(300);
    await tokens.verify((await tokens.rotate(1, ids.used!)).token);
    clock.advance(301);

    const listed = json((await run(context, 'list --user alice --json')).stdout);
    expect(listed.user).toEqual({ id: 1, username: 'alice' });
    const statuses = Object.fromEntries(
      (listed.tokens as { name: string; status: string; id: string }[]).map((token) => [token.id, token.status]),
    );
    expect(statuses[ids.short!]).toBe('expired');
    expect(statuses[ids.idle!]).toBe('expired');
    expect(statuses[ids.gone!]).toBe('revoked');
    expect(statuses[ids.used!]).toBe('revoked');
    expect(Object.values(statuses).filter((status) => status === 'live')).toHaveLength(1);

    const table = await run(context, 'list --user alice');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^ID +NAME +SCOPES +HINT +CREATED +EXPIRES +LAST USED +RATE LIMIT +USES LEFT +ALLOWED IPS +STATUS$/,
    );
    expect(lines).toHaveLength(6);
    const line = (id: string) => lines.find((row) => row.startsWith(id))!;
    expect(line(ids.short!)).toMatch(
      / short +users:read +nat_…\w{4} +2026-01-01 00:00:00Z +2026-01-01 00:01:00Z +never +none +unlimited +any +expired$/,
    );
    expect(line(ids.idle!)).toMatch(/ expired \(idle\)$/);
    expect(line(ids.gone!)).toMatch(/ revoked \(revoked_by_user\)$/);
    expect(line(ids.used!)).toMatch(/ 2026-01-01 00:00:03Z +none +unlimited +any +revoked \(rotated\)$/);
    expect(lines.filter((row) => / live$/.test(row))).toHaveLength(1);
  });

  it('issues a token with a usage policy, which issue tells and the list shows', async () => {
    const issued = await run(
      context,
      'issue --user alice --name metered --scopes users:read --rate-limit 100/60 --max-uses 2 --uses-period 3600 --allowed-ip 203.0.113.0/24 --allowed-ip 2001:DB8::/32',
    );
    expect(issued.code).toBe(0);
    expect(issued.stdout).toMatch(/^nat_[0-9A-Za-z]+\n$/);
    expect(issued.stderr).toContain(
      'rate limit 100/60s, uses 2/2 per 3600s, from 203.0.113.0/24,2001:db8::/32. It is shown this once',
    );
    // A token with allowed addresses verifies only with a request from one: it is found by its name.
    const accessToken = (await tokens.list(1)).find((token) => token.name === 'metered')!;
    expect(accessToken).toMatchObject({
      enabled: true,
      rateLimit: { limit: 100, window: 60 },
      maxUses: 2,
      usesLeft: 2,
      usesPeriod: 3600,
      allowedIps: ['203.0.113.0/24', '2001:db8::/32'],
    });
    const plain = (await run(context, 'issue --user alice --name plain --scopes users:read')).stdout.trim();
    const plainId = (await tokens.verify(plain)).accessToken.id;

    const table = (await run(context, 'list --user alice')).stdout.trimEnd().split('\n');
    expect(table.find((row) => row.startsWith(accessToken.id))).toMatch(
      / +100\/60s +2\/2 per 3600s +203\.0\.113\.0\/24,2001:db8::\/32 +live$/,
    );
    expect(table.find((row) => row.startsWith(plainId))).toMatch(/ +none +unlimited +any +live$/);
    const listed = json((await run(context, 'list --user alice --json')).stdout).tokens as Record<string, unknown>[];
    expect(listed.find((token) => token.id === accessToken.id)).toMatchObject({
      status: 'live',
      enabled: true,
      rateLimit: { limit: 100, window: 60 },
      maxUses: 2,
      usesLeft: 2,
      usesPeriod: 3600,
      allowedIps: ['203.0.113.0/24', '2001:db8::/32'],
    });
  });

  it('pauses a token by id, which is then refused as paused and listed so, and resumes it', async () => {
    const raw = (await run(context, 'issue --user alice --name deploy --scopes users:read')).stdout.trim();
    const { accessToken } = await tokens.verify(raw);
    const what = `token ${accessToken.id} "deploy" (${accessToken.hint}) of "alice"`;
    expect(await run(context, ['pause', accessToken.id])).toEqual({
      code: 0,
      stdout: `Paused the ${what}\n`,
      stderr: '',
    });
    await expect(tokens.verify(raw)).rejects.toMatchObject({ code: 'paused' });
    expect((await run(context, 'list --user alice')).stdout).toMatch(/ paused\n$/);
    expect(json((await run(context, ['pause', accessToken.id, '--json'])).stdout)).toMatchObject({
      paused: false,
      accessToken: { id: accessToken.id, enabled: false, status: 'paused' },
      user: { id: 1, username: 'alice' },
    });
    expect((await run(context, ['pause', accessToken.id])).stdout).toBe(`The ${what} was already paused\n`);

    expect((await run(context, ['resume', accessToken.id])).stdout).toBe(`Resumed the ${what}\n`);
    await expect(tokens.verify(raw)).resolves.toBeDefined();
    expect(json((await run(context, ['resume', accessToken.id, '--json'])).stdout)).toMatchObject({
      resumed: false,
      accessToken: { id: accessToken.id, enabled: true, status: 'live' },
    });
  });

  it("updates a token's name and usage policy by id, leaving what is not given, and lifts a limit with none", async () => {
    await run(context, 'issue --user alice --name ci --scopes users:read --max-uses 10 --allowed-ip 10.0.0.1');
    const [accessToken] = await tokens.list(1);
    const updated = await run(context, ['update', accessToken!.id, '--name', 'ci-2', '--rate-limit', '5/1']);
    expect(updated).toEqual({
      code: 0,
      stdout: `Updated the token ${accessToken!.id} "ci-2" (${accessToken!.hint}) of "alice": enabled, rate limit 5/1s, uses left 10/10, from 10.0.0.1\n`,
      stderr: '',
    });
    expect(
      json(
        (await run(context, ['update', accessToken!.id, '--max-uses', 'none', '--allowed-ip', 'none', '--json']))
          .stdout,
      ),
    ).toMatchObject({
      accessToken: {
        name: 'ci-2',
        rateLimit: { limit: 5, window: 1 },
        maxUses: null,
        usesLeft: null,
        allowedIps: null,
      },
      user: { id: 1, username: 'alice' },
    });
  });

  it('refuses a usage policy the module refuses as a usage error (2) naming the option, changing nothing', async () => {
    const address = await run(context, 'issue --user alice --name x --scopes users:read --allowed-ip 10.0.0.256');
    expect(address).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: --allowed-ip: "10.0.0.256" is not an IPv4 or IPv6 address or CIDR range\nRun "tokens issue --help" for usage.\n',
    });
    const period = await run(context, 'issue --user alice --name x --scopes users:read --uses-period 60');
    expect(period).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^error: --uses-period needs --max-uses\n/),
    });
    expect(await tokens.list(1)).toEqual([]);

    const raw = (await run(context, 'issue --user alice --name x --scopes users:read')).stdout.trim();
    const { accessToken } = await tokens.verify(raw);
    const before = await tokens.list(1);
    const refused = await run(context, [
      'update',
      accessToken.id,
      '--name',
      'y',
      '--allowed-ip',
      '10.0.0.0/40',
      '--json',
    ]);
    expect(refused.code).toBe(2);
    expect(json(refused.stderr)).toEqual({
      error: { code: 'cli_usage', message: '--allowed-ip: "10.0.0.0/40" is not an IPv4 or IPv6 address or CIDR range' },
    });
    expect(await tokens.list(1)).toEqual(before);
  });

  it('issues and updates a token with --metadata, shown by --json; refuses metadata the module refuses as a usage error (2)', async () => {
    const issued = await run(context, [
      'issue',
      '--user',
      'alice',
      '--name',
      'meta',
      '--scopes',
      'users:read',
      '--metadata',
      '{"team":"billing"}',
      '--json',
    ]);
    expect(json(issued.stdout)).toMatchObject({ accessToken: { metadata: { team: 'billing' } } });
    const { id } = (json(issued.stdout) as { accessToken: { id: string } }).accessToken;
    const updated = await run(context, ['update', id, '--metadata', '{"team":"ops"}', '--json']);
    expect(json(updated.stdout)).toMatchObject({ accessToken: { name: 'meta', metadata: { team: 'ops' } } });
    const before = await tokens.list(1);
    const refused = await run(context, ['update', id, '--metadata', '{"constructor":1}']);
    expect(refused).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: invalid --metadata: metadata may not have the key "constructor"\nRun "tokens update --help" for usage.\n',
    });
    expect(await tokens.list(1)).toEqual(before);
    await run(context, ['update', id, '--metadata', 'none']);
    expect((await tokens.list(1)).find((token) => token.id === id)!.metadata).toBeNull();
  });

  it('says when a user has no tokens', async () => {
    expect(await run(context, 'list --user alice')).toEqual({ code: 0, stdout: '"alice" has no tokens\n', stderr: '' });
    expect(json((await run(context, 'list --user alice --json')).stdout)).toEqual({
      user: { id: 1, username: 'alice' },
      tokens: [],
    });
  });

  it('revokes a token by id, whoever owns it; revoking it again changes nothing', async () => {
    const raw = (await run(context, 'issue --user alice --name deploy --scopes users:read')).stdout.trim();
    const { accessToken } = await tokens.verify(raw);
    const revoked = await run(context, ['revoke', accessToken.id]);
    expect(revoked).toEqual({
      code: 0,
      stdout: `Revoked the token ${accessToken.id} "deploy" (${accessToken.hint}) of "alice"\n`,
      stderr: '',
    });
    await expect(tokens.verify(raw)).rejects.toMatchObject({ code: 'revoked', revokedReason: 'revoked_by_admin' });

    const again = await run(context, ['revoke', accessToken.id, '--json']);
    expect(again.code).toBe(0);
    expect(json(again.stdout)).toMatchObject({
      revoked: false,
      accessToken: {
        id: accessToken.id,
        status: 'revoked',
        revokedReason: 'revoked_by_admin',
        revokedAt: clock.now().toISOString(),
      },
      user: { id: 1, username: 'alice' },
    });
  });

  it('revokes every token of a user, and only theirs', async () => {
    await context
      .get(DataSource)
      .getRepository(CliUser)
      .save({ login: 'carol', grants: ['users:read'] });
    const alice = [
      (await run(context, 'issue --user alice --name a --scopes users:read')).stdout.trim(),
      (await run(context, 'issue --user alice --name b --scopes tokens:read')).stdout.trim(),
    ];
    const carol = (await run(context, 'issue --user carol --name c --scopes users:read')).stdout.trim();
    expect(await run(context, 'revoke-all --user alice')).toEqual({
      code: 0,
      stdout: 'Revoked 2 tokens of "alice"\n',
      stderr: '',
    });
    for (const raw of alice)
      await expect(tokens.verify(raw)).rejects.toMatchObject({ code: 'revoked', revokedReason: 'revoked_by_admin' });
    await expect(tokens.verify(carol)).resolves.toBeDefined();
    expect(json((await run(context, 'revoke-all --user alice --json')).stdout)).toEqual({
      revoked: 0,
      user: { id: 1, username: 'alice' },
    });
  });

  it('prunes the tokens past their retention', async () => {
    await run(context, 'issue --user alice --name old --scopes users:read');
    await run(context, 'revoke-all --user alice');
    expect(await run(context, 'prune')).toEqual({ code: 0, stdout: 'Pruned 0 tokens\n', stderr: '' });
    clock.advance(7 * 24 * 3600 + 1);
    expect(await run(context, 'prune')).toEqual({ code: 0, stdout: 'Pruned 1 token\n', stderr: '' });
    expect(await tokens.list(1)).toEqual([]);
    expect(json((await run(context, 'prune --json')).stdout)).toEqual({ pruned: 0 });
  });

  describe('refuses with 1, saying what to fix, on stderr only', () => {
    const cases: [string, string, RegExp][] = [
      [
        'an unknown user',
        'issue --user zoe --name x --scopes users:read',
        /^error: unknown user "zoe": no user has login "zoe"\n$/,
      ],
      [
        'a name spelt otherwise than stored',
        'list --user Alice',
        /^error: unknown user "Alice": no user has login "Alice"\n$/,
      ],
      [
        'an unknown token id',
        'revoke 1f73e88f-79e9-42c7-8b58-40689676d07c',
        /^error: unknown token id "1f73e88f-79e9-42c7-8b58-40689676d07c": no token has that id/,
      ],
      ['a token id that is no UUID', 'revoke 42', /^error: unknown token id "42": a token id is a UUID/],
      [
        'an unknown token id to pause',
        'pause 1f73e88f-79e9-42c7-8b58-40689676d07c',
        /^error: unknown token id "1f73e88f-79e9-42c7-8b58-40689676d07c": no token has that id/,
      ],
      [
        'an unknown token id to update',
        'update 1f73e88f-79e9-42c7-8b58-40689676d07c --max-uses 5',
        /^error: unknown token id "1f73e88f-79e9-42c7-8b58-40689676d07c": no token has that id/,
      ],
      ['a token id that is no UUID to resume', 'resume 42', /^error: unknown token id "42": a token id is a UUID/],
      [
        "a scope beyond the user's permissions",
        'issue --user alice --name x --scopes users:admin',
        /^error: invalid --scopes: The user may not grant users:admin; they may grant users:read, tokens:read\n$/,
      ],
      [
        'a scope that is no scope',
        'issue --user alice --name x --scopes Users!',
        /^error: invalid --scopes: Invalid scope "Users!"/,
      ],
      [
        'a blocked user',
        'issue --user bob --name x --scopes users:read',
        /^error: user "bob" is blocked: unblock them to issue a token\n$/,
      ],
    ];
    it.each(cases)('%s', async (_, line, message) => {
      const refused = await run(context, line);
      expect(refused).toEqual({ code: 1, stdout: '', stderr: expect.stringMatching(message) });
    });

    it('too many tokens', async () => {
      for (let i = 0; i < 5; i++)
        expect((await run(context, `issue --user alice --name t${i} --scopes users:read`)).code).toBe(0);
      const refused = await run(context, 'issue --user alice --name t5 --scopes users:read');
      expect(refused).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: A user may hold at most 5 live tokens: revoke one before creating another\n',
      });
    });

    it('a token name the module refuses', async () => {
      const refused = await run(context, [
        'issue',
        '--user',
        'alice',
        '--name',
        'x'.repeat(101),
        '--scopes',
        'users:read',
      ]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^error: invalid --name: A token name must be 1 to 100 characters/);
    });

    it('as JSON on stderr with --json', async () => {
      const refused = await run(context, 'list --user zoe --json');
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(json(refused.stderr)).toEqual({
        error: { code: 'unknown_user', message: 'unknown user "zoe": no user has login "zoe"' },
      });
    });
  });

  it("refuses an --expires-in beyond the app's tokens.maxLifetimeSeconds as a usage error (2), issuing nothing", async () => {
    const refused = await run(context, 'issue --user alice --name x --scopes users:read --expires-in 86401');
    expect(refused).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: --expires-in must be a positive whole number of seconds, at most 86400 (got 86401)\nRun "tokens issue --help" for usage.\n',
    });
    expect(await tokens.list(1)).toEqual([]);
  });

  it('leaves open a context it was given', async () => {
    await run(context, 'prune');
    expect(context.get(DataSource).isInitialized).toBe(true);
  });
});

describe('runTokensCli, opening and closing the app', () => {
  it('creates the app from a module, runs the command and closes it', async () => {
    let created: INestApplicationContext | undefined;
    const factory = async () => {
      created = await NestFactory.createApplicationContext(cliApp(), { logger: false, abortOnError: false });
      return created;
    };
    expect(await run(factory, 'prune')).toEqual({ code: 0, stdout: 'Pruned 0 tokens\n', stderr: '' });
    expect(created!.get(DataSource).isInitialized).toBe(false);
    // A DynamicModule as it is, and a function returning one.
    expect((await run(cliApp(), 'list --user nobody')).stderr).toBe(
      'error: unknown user "nobody": no user has login "nobody"\n',
    );
    expect((await run(() => cliApp(), 'prune --json')).stdout).toBe('{"pruned":0}\n');
  });

  it('starts nothing for --help or a usage error: the factory is not even called', async () => {
    let calls = 0;
    const factory = () => {
      calls += 1;
      return cliApp();
    };
    const help = await run(factory, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: tokens <command> \[options\]/);
    expect(help.stderr).toBe('');
    expect((await run(factory, 'issue --help')).stdout).toMatch(/^Usage: tokens issue /);
    for (const line of [
      '',
      'frobnicate',
      'list',
      'list --user alice --verbose',
      'issue --user a --name n --scopes s --expires-in 1h',
    ]) {
      const refused = await run(factory, line);
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/^error: .+\nRun "tokens( \w+)? --help" for usage\.\n$/);
    }
    expect(json((await run(factory, 'list --json')).stderr)).toEqual({
      error: { code: 'cli_usage', message: 'list needs --user <name>, the user name' },
    });
    expect(calls).toBe(0);
  });

  it('refuses with 1 when the database cannot be reached', async () => {
    const away = () => {
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    };
    expect(await run(away, 'prune')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: the database cannot be reached: connect ECONNREFUSED 127.0.0.1:5432\n',
    });

    const context = await NestFactory.createApplicationContext(cliApp(), { logger: false, abortOnError: false });
    const dataSource = context.get(DataSource);
    // The server goes away under a running app, as PostgreSQL says it when shutting down.
    const lost = Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
    jest.spyOn(dataSource.manager, 'find').mockRejectedValue(lost);
    const refused = await run(context, 'prune');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^error: the database cannot be reached \(Connection terminated unexpectedly\): check the app's database settings/,
    );
    await context.close();
  });

  it('refuses with 1 an app that does not start, or has no AccessTokensModule', async () => {
    const broken = await run(cliApp({ tokens: { maxLifetimeSeconds: 60, lifetimeSeconds: 3600 } }), 'prune');
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe('');
    expect(broken.stderr).toMatch(
      /error: the app could not start: AccessTokensModule: tokens\.lifetimeSeconds \(3600\) must not exceed tokens\.maxLifetimeSeconds \(60\)/,
    );

    @Module({})
    class EmptyModule {}
    expect(await run(EmptyModule, 'prune')).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'error: the app has no AccessTokensModule: give runTokensCli the root module that imports AccessTokensModule.forRoot()\n',
    });
  });

  it("writes the app's logs to stderr, never to stdout", async () => {
    let stdout = '';
    let stderr = '';
    const code = await runTokensCli(cliApp(), ['prune'], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      logLevels: ['log', 'error', 'warn'],
    });
    expect(code).toBe(0);
    expect(stdout).toBe('Pruned 0 tokens\n');
    expect(stderr).toContain('LOG [InstanceLoader] AccessTokensModule dependencies initialized');
  });
});
