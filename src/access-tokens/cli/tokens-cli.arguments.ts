import { parseArgs } from 'node:util';
import { shown, TokensCliUsageError } from './tokens-cli.errors.js';

/** The commands of the tokens CLI. */
export type TokensCliCommandName = 'issue' | 'list' | 'revoke' | 'revoke-all' | 'prune';

/** A command line, understood. */
export type TokensCliCommand =
  | { name: 'help'; topic: TokensCliCommandName | null }
  | { name: 'issue'; user: string; tokenName: string; scopes: string[]; expiresIn: number | undefined; json: boolean }
  | { name: 'list'; user: string; json: boolean }
  | { name: 'revoke'; tokenId: string; json: boolean }
  | { name: 'revoke-all'; user: string; json: boolean }
  | { name: 'prune'; json: boolean };

type ValueOption = 'user' | 'name' | 'scopes' | 'expires-in';

interface CommandSpec {
  /** The options it takes besides `--json` and `--help`. */
  options: readonly ValueOption[];
  required: readonly ValueOption[];
  /** The positional argument it takes, if any. */
  argument: string | null;
  synopsis: string;
  summary: string;
  details: string;
}

const COMMANDS: Record<TokensCliCommandName, CommandSpec> = {
  issue: {
    options: ['user', 'name', 'scopes', 'expires-in'],
    required: ['user', 'name', 'scopes'],
    argument: null,
    synopsis: 'issue --user <name> --name <token name> --scopes <a,b> [--expires-in <seconds>]',
    summary: 'Issue a token to a user; prints the raw token, once',
    details: [
      'Prints the raw token, and nothing else, on stdout: it is shown this once, only its hash is',
      'stored. Its id and hint go to stderr.',
      '',
      '  --user <name>           the user, by user name',
      '  --name <token name>     what the token is for ("deploy"), 1 to 100 characters',
      '  --scopes <a,b>          comma-separated scopes, within what the user may do; "*" for',
      '                          everything the user may do at each request',
      "  --expires-in <seconds>  lifetime; default: the app's tokens.lifetimeSeconds",
      '',
      'Example: TOKEN=$(npm run -s tokens -- issue --user alice --name deploy --scopes users:read --expires-in 3600)',
    ].join('\n'),
  },
  list: {
    options: ['user'],
    required: ['user'],
    argument: null,
    synopsis: 'list --user <name>',
    summary: "List a user's tokens",
    details:
      "Shows each token's id, name, scopes, hint, times and status (live, expired, revoked),\nnewest first, and the user's live login sessions.",
  },
  revoke: {
    options: [],
    required: [],
    argument: 'id',
    synopsis: 'revoke <id>',
    summary: 'Revoke a token by its id',
    details:
      'The id is the one "list" shows. Tokens rotated from it or into it are revoked with it.\nRevoking a revoked token changes nothing.',
  },
  'revoke-all': {
    options: ['user'],
    required: ['user'],
    argument: null,
    synopsis: 'revoke-all --user <name>',
    summary: 'Revoke every live token of a user, login sessions included',
    details: 'Prints how many were revoked.',
  },
  prune: {
    options: [],
    required: [],
    argument: null,
    synopsis: 'prune',
    summary: 'Delete the tokens past their retention',
    details:
      "Tokens that expired or were revoked longer than the app's maintenance.retentionSeconds ago. The app prunes\nby itself too, unless configured with maintenance.prune: false.",
  },
};

const COMMAND_NAMES = Object.keys(COMMANDS) as TokensCliCommandName[];

const OPTION_HINTS: Record<ValueOption, string> = {
  user: '--user <name>, the user name',
  name: '--name <token name>, what the token is for',
  scopes: '--scopes <a,b>, e.g. --scopes users:read',
  'expires-in': '--expires-in <seconds>',
};

/** Every option of every command: parseArgs refuses any other. */
const PARSE_OPTIONS = {
  user: { type: 'string', multiple: true },
  name: { type: 'string', multiple: true },
  scopes: { type: 'string', multiple: true },
  'expires-in': { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const isCommand = (name: string | undefined): name is TokensCliCommandName =>
  COMMAND_NAMES.some((known) => known === name);

/** The first argument that is not an option: the command, as far as one can tell. */
function commandIn(argv: readonly string[]): TokensCliCommandName | null {
  const first = argv.find((arg) => !arg.startsWith('-'));
  return isCommand(first) ? first : null;
}

/** What to say when parseArgs refuses the command line: the option at fault, in our words. */
function parseFailure(error: unknown, argv: readonly string[]): TokensCliUsageError {
  const command = commandIn(argv);
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const takes = `${command ?? 'the command'} takes ${optionList(command)}`;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const end = argv.indexOf('--');
    const known = (arg: string) => (arg.startsWith('--') ? arg.slice(2).split('=')[0]! in PARSE_OPTIONS : arg === '-h');
    const unknown = (end < 0 ? argv : argv.slice(0, end)).find(
      (arg) => arg.startsWith('-') && arg !== '-' && !known(arg),
    );
    return new TokensCliUsageError(`unknown option ${shown(unknown?.split('=')[0] ?? message)}: ${takes}`, command);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /Option '(-{1,2}[A-Za-z-]+)/.exec(message)?.[1];
    if (option === '--json' || option === '--help' || option === '-h') {
      return new TokensCliUsageError(`${option} takes no value: write ${option} on its own`, command);
    }
    if (option)
      return new TokensCliUsageError(
        `${option} needs a value: ${OPTION_HINTS[option.slice(2) as ValueOption] ?? option}`,
        command,
      );
  }
  return new TokensCliUsageError(message, command);
}

function optionList(command: TokensCliCommandName | null): string {
  const options = command ? COMMANDS[command].options : [];
  return [...options.map((option) => `--${option}`), '--json', '--help'].join(', ');
}

function single(values: Partial<Record<ValueOption, string[]>>, option: ValueOption): string | undefined {
  const given = values[option];
  if (given && given.length > 1)
    throw new TokensCliUsageError(`--${option} is given ${given.length} times: give it once`);
  return given?.[0];
}

/** `--expires-in`'s value: a positive whole number of seconds, written as one. */
function seconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new TokensCliUsageError(
      `--expires-in must be a positive whole number of seconds, e.g. 3600 for an hour (got ${shown(value)})`,
    );
  }
  return number;
}

/** `--scopes a,b` (spaces allowed after the commas) as a list. */
function scopeList(value: string): string[] {
  const scopes = value
    .split(',')
    .map((scope) => scope.trim())
    .filter((scope) => scope !== '');
  if (scopes.length === 0)
    throw new TokensCliUsageError('--scopes needs at least one scope, e.g. --scopes users:read,tokens:read');
  return scopes;
}

/**
 * Reads a command line (the arguments after the program's name) with `node:util`'s `parseArgs`,
 * strictly. Throws `TokensCliUsageError` saying what to change; checks nothing that needs the app
 * (users, tokens, the app's limits).
 */
export function parseTokensCliArgs(argv: readonly string[]): TokensCliCommand {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof PARSE_OPTIONS; strict: true; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: PARSE_OPTIONS, strict: true, allowPositionals: true });
  } catch (error) {
    throw parseFailure(error, argv);
  }
  const { values, positionals } = parsed;
  const [first, ...rest] = positionals;
  if (first === 'help') {
    const topic = rest[0];
    if (topic !== undefined && !isCommand(topic)) throw unknownCommand(topic);
    return { name: 'help', topic: topic ?? null };
  }
  if (first === undefined) {
    if (values.help) return { name: 'help', topic: null };
    throw new TokensCliUsageError(`a command is needed: ${COMMAND_NAMES.join(', ')}`);
  }
  if (!isCommand(first)) throw unknownCommand(first);
  if (values.help) return { name: 'help', topic: first };
  const spec = COMMANDS[first];
  try {
    for (const option of Object.keys(PARSE_OPTIONS) as (keyof typeof PARSE_OPTIONS)[]) {
      if (values[option] === undefined || option === 'json' || option === 'help') continue;
      if (!spec.options.includes(option))
        throw new TokensCliUsageError(`${first} does not take --${option}; it takes ${optionList(first)}`);
    }
    const given = Object.fromEntries(spec.options.map((option) => [option, single(values, option)])) as Partial<
      Record<ValueOption, string>
    >;
    const missing = spec.required.filter((option) => given[option] === undefined || given[option]!.trim() === '');
    if (missing.length > 0)
      throw new TokensCliUsageError(`${first} needs ${missing.map((option) => OPTION_HINTS[option]).join('; and ')}`);
    if (spec.argument === null && rest.length > 0)
      throw new TokensCliUsageError(`${first} takes no argument, but got ${shown(rest[0]!)}`);
    if (spec.argument !== null && rest.length !== 1) {
      throw new TokensCliUsageError(
        rest.length === 0
          ? `${first} needs the token's <id>, as "list --user <name>" shows it`
          : `${first} takes one <id>, but got ${rest.length}`,
      );
    }
    const json = values.json ?? false;
    switch (first) {
      case 'issue':
        return {
          name: 'issue',
          user: given.user!,
          tokenName: given.name!,
          scopes: scopeList(given.scopes!),
          expiresIn: seconds(given['expires-in']),
          json,
        };
      case 'list':
        return { name: 'list', user: given.user!, json };
      case 'revoke':
        return { name: 'revoke', tokenId: rest[0]!, json };
      case 'revoke-all':
        return { name: 'revoke-all', user: given.user!, json };
      case 'prune':
        return { name: 'prune', json };
    }
  } catch (error) {
    // Every refusal above is about this command: point at its help.
    throw error instanceof TokensCliUsageError && error.command === null
      ? new TokensCliUsageError(error.message, first)
      : error;
  }
}

function unknownCommand(name: string): TokensCliUsageError {
  return new TokensCliUsageError(`unknown command ${shown(name)}: use ${COMMAND_NAMES.join(', ')}`);
}

/**
 * The help: of one command, or of all. `program` is how the user runs the CLI
 * (`npm run tokens --`, `node dist/cli.js`).
 */
export function tokensCliHelp(program: string, topic: TokensCliCommandName | null): string {
  if (topic !== null) {
    const spec = COMMANDS[topic];
    return `Usage: ${program} ${spec.synopsis} [--json]\n\n${spec.summary}.\n${spec.details}\n\n  --json  print JSON, for scripts\n`;
  }
  const width = Math.max(...COMMAND_NAMES.map((name) => name.length));
  return [
    `Usage: ${program} <command> [options]`,
    '',
    "Manages the app's access tokens, on the app's own database.",
    '',
    'Commands:',
    ...COMMAND_NAMES.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name].summary}`),
    '',
    ...COMMAND_NAMES.map((name) => `  ${program} ${COMMANDS[name].synopsis}`),
    '',
    'Options:',
    '  --json      print JSON, for scripts (errors too, on stderr)',
    "  -h, --help  show this help, or a command's",
    '',
    'Exit codes: 0 done; 1 refused (unknown user or token id, a scope the user may not grant, too',
    'many tokens, the database away...); 2 a command line to correct.',
    '',
  ].join('\n');
}
