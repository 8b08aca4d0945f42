import { describe, expect, it } from '@jest/globals';
import { parseTokensCliArgs, tokensCliHelp } from './tokens-cli.arguments.js';
import { TokensCliUsageError } from './tokens-cli.errors.js';

const words = (line: string) => line.split(' ').filter((word) => word !== '');

/** The usage error a command line gets, or a failure if it gets none. */
function refusal(line: string | string[]): TokensCliUsageError {
  try {
    parseTokensCliArgs(typeof line === 'string' ? words(line) : line);
  } catch (error) {
    expect(error).toBeInstanceOf(TokensCliUsageError);
    return error as TokensCliUsageError;
  }
  throw new Error(`"${String(line)}" was accepted`);
}

describe('reading the tokens command line', () => {
  it('reads each command with its options, in any order', () => {
    expect(
      parseTokensCliArgs(words('issue --user alice --name deploy --scopes users:read,tokens:read --expires-in 3600')),
    ).toEqual({
      name: 'issue',
      user: 'alice',
      tokenName: 'deploy',
      scopes: ['users:read', 'tokens:read'],
      expiresIn: 3600,
      policy: {},
      json: false,
    });
    expect(parseTokensCliArgs(['--json', 'issue', '--scopes=*', '--name', 'CI on my laptop', '--user=bob'])).toEqual({
      name: 'issue',
      user: 'bob',
      tokenName: 'CI on my laptop',
      scopes: ['*'],
      expiresIn: undefined,
      policy: {},
      json: true,
    });
    expect(parseTokensCliArgs(words('list --user alice'))).toEqual({ name: 'list', user: 'alice', json: false });
    expect(parseTokensCliArgs(words('revoke 1f73e88f-79e9-42c7-8b58-40689676d07c --json'))).toEqual({
      name: 'revoke',
      tokenId: '1f73e88f-79e9-42c7-8b58-40689676d07c',
      json: true,
    });
    expect(parseTokensCliArgs(words('revoke-all --user alice'))).toEqual({
      name: 'revoke-all',
      user: 'alice',
      json: false,
    });
    expect(parseTokensCliArgs(['prune'])).toEqual({ name: 'prune', json: false });
    expect(parseTokensCliArgs(words('pause 1f73e88f-79e9-42c7-8b58-40689676d07c'))).toEqual({
      name: 'pause',
      tokenId: '1f73e88f-79e9-42c7-8b58-40689676d07c',
      json: false,
    });
    expect(parseTokensCliArgs(words('--json resume 1f73e88f-79e9-42c7-8b58-40689676d07c'))).toEqual({
      name: 'resume',
      tokenId: '1f73e88f-79e9-42c7-8b58-40689676d07c',
      json: true,
    });
  });

  it('reads a usage policy on issue: a rate limit, uses, their period, and addresses repeated', () => {
    expect(
      parseTokensCliArgs(
        words(
          'issue --user a --name n --scopes s --rate-limit 100/60 --max-uses 1000 --uses-period 2592000 --allowed-ip 203.0.113.0/24 --allowed-ip 2001:db8::1',
        ),
      ),
    ).toMatchObject({
      name: 'issue',
      policy: {
        rateLimit: { limit: 100, window: 60 },
        maxUses: 1000,
        usesPeriod: 2_592_000,
        allowedIps: ['203.0.113.0/24', '2001:db8::1'],
      },
    });
    // "none" asks for no such limit, whatever the app's usage.defaults.
    expect(
      parseTokensCliArgs(
        words(
          'issue --user a --name n --scopes s --rate-limit none --max-uses none --uses-period none --allowed-ip none',
        ),
      ),
    ).toMatchObject({ policy: { rateLimit: null, maxUses: null, usesPeriod: null, allowedIps: null } });
  });

  it('reads --metadata as a JSON object on issue and update, "none" removing it, and refuses anything else', () => {
    const id = '1f73e88f-79e9-42c7-8b58-40689676d07c';
    expect(
      parseTokensCliArgs([
        'issue',
        '--user',
        'a',
        '--name',
        'n',
        '--scopes',
        's',
        '--metadata',
        '{"team":"billing","n":[1]}',
      ]),
    ).toMatchObject({ name: 'issue', metadata: { team: 'billing', n: [1] } });
    expect(parseTokensCliArgs(['update', id, '--metadata', 'none'])).toMatchObject({ name: 'update', metadata: null });
    expect(parseTokensCliArgs(['update', id, '--name', 'x'])).toMatchObject({ metadata: undefined });
    for (const value of ['[1]', '"text"', '{broken', 'null']) {
      expect(refusal(['update', id, '--metadata', value])).toMatchObject({
        message: expect.stringMatching(
          /^--metadata must be a JSON object, e\.g\. --metadata '\{"team":"billing"\}', or "none" \(got /,
        ),
        command: 'update',
      });
    }
  });

  it('reads update: a name, policy changes, or both, and needs one of them', () => {
    const id = '1f73e88f-79e9-42c7-8b58-40689676d07c';
    expect(parseTokensCliArgs(['update', id, '--name', 'ci', '--max-uses=5', '--allowed-ip', '10.0.0.0/8'])).toEqual({
      name: 'update',
      tokenId: id,
      tokenName: 'ci',
      policy: { maxUses: 5, allowedIps: ['10.0.0.0/8'] },
      json: false,
    });
    expect(parseTokensCliArgs(['update', id, '--rate-limit', 'none', '--json'])).toEqual({
      name: 'update',
      tokenId: id,
      tokenName: undefined,
      policy: { rateLimit: null },
      json: true,
    });
    expect(refusal(['update', id])).toMatchObject({
      message:
        'update needs something to change: --name, --rate-limit, --max-uses, --uses-period, --allowed-ip, --metadata',
      command: 'update',
    });
    expect(refusal('update --max-uses 5').message).toBe(
      'update needs the token\'s <id>, as "list --user <name>" shows it',
    );
    expect(refusal(['update', id, '--scopes', 'x']).message).toBe(
      'update does not take --scopes; it takes --name, --rate-limit, --max-uses, --uses-period, --allowed-ip, --metadata, --json, --help',
    );
  });

  it.each([
    [
      '--rate-limit',
      ['100', '100/', '/60', '0/60', '100/0', '100/60/1', '1.5/60', 'x/60', '1000000001/60', '1/31536001'],
    ],
    ['--max-uses', ['0', '-1', '1.5', 'many', '2147483648', '']],
    ['--uses-period', ['0', '1h', '31536001']],
  ])('refuses a %s that is not one, naming the option', (option, values) => {
    for (const value of values) {
      const refused = refusal(['issue', '--user', 'a', '--name', 'n', '--scopes', 's', `${option}=${value}`]);
      expect(refused).toMatchObject({ command: 'issue' });
      expect(refused.message).toMatch(new RegExp(`^${option} must be .*\\(got ${JSON.stringify(value)}\\)$`));
    }
  });

  it('refuses --allowed-ip none beside addresses, an empty one, and a policy option given twice', () => {
    expect(refusal('issue --user a --name n --scopes s --allowed-ip none --allowed-ip 10.0.0.1').message).toBe(
      '--allowed-ip none allows any address: give it alone, without other addresses',
    );
    expect(refusal(['issue', '--user', 'a', '--name', 'n', '--scopes', 's', '--allowed-ip=']).message).toBe(
      '--allowed-ip needs an address: --allowed-ip <address>, e.g. --allowed-ip 203.0.113.0/24',
    );
    expect(refusal('issue --user a --name n --scopes s --max-uses 1 --max-uses 2').message).toBe(
      '--max-uses is given 2 times: give it once',
    );
    expect(refusal('issue --user a --name n --scopes s --rate-limit').message).toBe(
      '--rate-limit needs a value: --rate-limit <limit>/<seconds>, e.g. --rate-limit 100/60',
    );
  });

  it('takes scopes separated by commas, with spaces after them', () => {
    expect(
      parseTokensCliArgs(['issue', '--user', 'a', '--name', 'n', '--scopes', 'users:read, tokens:*,,']),
    ).toMatchObject({
      scopes: ['users:read', 'tokens:*'],
    });
    expect(refusal(['issue', '--user', 'a', '--name', 'n', '--scopes', ' , ']).message).toBe(
      '--scopes needs at least one scope, e.g. --scopes users:read,tokens:read',
    );
  });

  it('answers --help, -h and "help" with the help, of one command or of all', () => {
    expect(parseTokensCliArgs(['--help'])).toEqual({ name: 'help', topic: null });
    expect(parseTokensCliArgs(['-h'])).toEqual({ name: 'help', topic: null });
    expect(parseTokensCliArgs(['help'])).toEqual({ name: 'help', topic: null });
    expect(parseTokensCliArgs(['help', 'revoke'])).toEqual({ name: 'help', topic: 'revoke' });
    // --help wins over what else is wrong with the line, as one asks for help when stuck.
    expect(parseTokensCliArgs(['issue', '--help'])).toEqual({ name: 'help', topic: 'issue' });
    expect(parseTokensCliArgs(['issue', '--user', 'a', '-h'])).toEqual({ name: 'help', topic: 'issue' });
  });

  it('refuses a missing or unknown command, naming the commands', () => {
    expect(refusal([]).message).toBe(
      'a command is needed: issue, list, update, pause, resume, revoke, revoke-all, prune',
    );
    expect(refusal('lst --user alice')).toMatchObject({
      message: 'unknown command "lst": use issue, list, update, pause, resume, revoke, revoke-all, prune',
      command: null,
    });
    expect(refusal('help lst').message).toMatch(/^unknown command "lst"/);
  });

  it('refuses an unknown option, and one the command does not take, saying which it takes', () => {
    expect(refusal('list --user alice --verbose')).toMatchObject({
      message: 'unknown option "--verbose": list takes --user, --json, --help',
      command: 'list',
    });
    expect(refusal('prune -x').message).toBe('unknown option "-x": prune takes --json, --help');
    expect(refusal('list --user alice --name deploy')).toMatchObject({
      message: 'list does not take --name; it takes --user, --json, --help',
      command: 'list',
    });
    expect(refusal('prune --user alice').message).toBe('prune does not take --user; it takes --json, --help');
  });

  it('refuses a missing required option, naming each', () => {
    expect(refusal('issue --name deploy --scopes users:read')).toMatchObject({
      message: 'issue needs --user <name>, the user name',
      command: 'issue',
    });
    expect(refusal('issue --user alice').message).toBe(
      'issue needs --name <token name>, what the token is for; and --scopes <a,b>, e.g. --scopes users:read',
    );
    expect(refusal('list').message).toBe('list needs --user <name>, the user name');
    expect(refusal(['revoke-all', '--user', '  ']).message).toBe('revoke-all needs --user <name>, the user name');
  });

  it('refuses an option without its value, or given twice', () => {
    expect(refusal('list --user').message).toBe('--user needs a value: --user <name>, the user name');
    // The next option is no value: "--name" here would name the token "--scopes".
    expect(refusal('issue --user alice --name --scopes users:read').message).toBe(
      '--name needs a value: --name <token name>, what the token is for',
    );
    expect(refusal('list --user alice --user bob').message).toBe('--user is given 2 times: give it once');
    expect(refusal('list --user alice --json=yes').message).toBe('--json takes no value: write --json on its own');
  });

  it('refuses an --expires-in that is not a positive whole number of seconds', () => {
    for (const bad of ['0', '-5', '1h', '3600.5', '1e3', '99999999999999999', ' 60']) {
      expect(refusal(['issue', '--user', 'a', '--name', 'n', '--scopes', 's', `--expires-in=${bad}`])).toMatchObject({
        message: `--expires-in must be a positive whole number of seconds, e.g. 3600 for an hour (got ${JSON.stringify(bad)})`,
        command: 'issue',
      });
    }
  });

  it('refuses arguments a command does not take, and revoke without exactly one id', () => {
    expect(refusal('list --user alice bob').message).toBe('list takes no argument, but got "bob"');
    expect(refusal('revoke').message).toBe('revoke needs the token\'s <id>, as "list --user <name>" shows it');
    expect(refusal('revoke a b').message).toBe('revoke takes one <id>, but got 2');
    expect(refusal('pause').message).toBe('pause needs the token\'s <id>, as "list --user <name>" shows it');
    expect(refusal('resume a b').message).toBe('resume takes one <id>, but got 2');
    expect(refusal('pause a --user alice').message).toBe('pause does not take --user; it takes --json, --help');
  });

  it('never repeats a long value, which may be a raw token pasted in the wrong place', () => {
    const token = `nat_${'A'.repeat(83)}`;
    const refused = refusal(['list', '--user', 'alice', token]);
    expect(refused.message).toBe('list takes no argument, but got "nat_AAAAAAAA…"');
    expect(refusal([token]).message).not.toContain(token.slice(0, 13));
  });

  it("writes a help that names every command, and each command's options", () => {
    const help = tokensCliHelp('npm run tokens --', null);
    for (const command of ['issue', 'list', 'update', 'pause', 'resume', 'revoke', 'revoke-all', 'prune'])
      expect(help).toContain(`npm run tokens -- ${command}`);
    expect(help).toMatch(/Exit codes: 0 .* 1 .* 2 /s);
    expect(tokensCliHelp('tokens', 'issue')).toMatch(
      /^Usage: tokens issue --user <name> --name <token name> --scopes <a,b> \[--expires-in <seconds>\] \[--rate-limit <limit>\/<seconds>\] \[--max-uses <n>\] \[--uses-period <seconds>\] \[--allowed-ip <address>\]\.\.\. \[--metadata <json>\] \[--json\]/,
    );
    for (const option of ['--rate-limit', '--max-uses', '--uses-period', '--allowed-ip']) {
      expect(tokensCliHelp('tokens', 'issue')).toContain(`  ${option} <`);
      expect(tokensCliHelp('tokens', 'update')).toContain(`  ${option} <`);
    }
    expect(tokensCliHelp('tokens', 'pause')).toMatch(/^Usage: tokens pause <id> \[--json\]\n/);
    expect(tokensCliHelp('tokens', 'resume')).toMatch(/^Usage: tokens resume <id> \[--json\]\n/);
  });
});
