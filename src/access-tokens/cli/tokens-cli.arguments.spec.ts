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
      json: false,
    });
    expect(parseTokensCliArgs(['--json', 'issue', '--scopes=*', '--name', 'CI on my laptop', '--user=bob'])).toEqual({
      name: 'issue',
      user: 'bob',
      tokenName: 'CI on my laptop',
      scopes: ['*'],
      expiresIn: undefined,
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
    expect(refusal([]).message).toBe('a command is needed: issue, list, revoke, revoke-all, prune');
    expect(refusal('lst --user alice')).toMatchObject({
      message: 'unknown command "lst": use issue, list, revoke, revoke-all, prune',
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
  });

  it('never repeats a long value, which may be a raw token pasted in the wrong place', () => {
    const token = `nat_${'A'.repeat(83)}`;
    const refused = refusal(['list', '--user', 'alice', token]);
    expect(refused.message).toBe('list takes no argument, but got "nat_AAAAAAAA…"');
    expect(refusal([token]).message).not.toContain(token.slice(0, 13));
  });

  it("writes a help that names every command, and each command's options", () => {
    const help = tokensCliHelp('npm run tokens --', null);
    for (const command of ['issue', 'list', 'revoke', 'revoke-all', 'prune'])
      expect(help).toContain(`npm run tokens -- ${command}`);
    expect(help).toMatch(/Exit codes: 0 .* 1 .* 2 /s);
    expect(tokensCliHelp('tokens', 'issue')).toMatch(
      /^Usage: tokens issue --user <name> --name <token name> --scopes <a,b> \[--expires-in <seconds>\] \[--json\]/,
    );
  });
});
