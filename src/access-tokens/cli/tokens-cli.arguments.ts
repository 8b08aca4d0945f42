import { parseArgs } from 'node:util';
import type { TokenMetadata } from '../storage/access-token.entity.js';
import type { RateLimit, TokenUsagePolicy } from '../usage/usage-policy.js';
import { shown, TokensCliUsageError } from './tokens-cli.errors.js';

/** The commands of the tokens CLI. */
export type TokensCliCommandName = 'issue' | 'list' | 'update' | 'pause' | 'resume' | 'revoke' | 'revoke-all' | 'prune';

/** A command line, understood. */
export type TokensCliCommand =
  | { name: 'help'; topic: TokensCliCommandName | null }
  | {
      name: 'issue';
      user: string;
      tokenName: string;
      scopes: string[];
      expiresIn: number | undefined;
      /** The parts of the usage policy given; the others take the app's `usage.defaults`. */
      policy: TokenUsagePolicy;
      /** `--metadata`, parsed (the module checks its bounds); `undefined` for none. */
      metadata: TokenMetadata | null | undefined;
      json: boolean;
    }
  | { name: 'list'; user: string; json: boolean }
  | {
      name: 'update';
      tokenId: string;
      tokenName: string | undefined;
      /** The parts of the usage policy to change; the others stay. */
      policy: TokenUsagePolicy;
      /** New metadata, `null` to remove it (`--metadata none`), `undefined` to keep it. */
      metadata: TokenMetadata | null | undefined;
      json: boolean;
    }
  | { name: 'pause'; tokenId: string; json: boolean }
  | { name: 'resume'; tokenId: string; json: boolean }
  | { name: 'revoke'; tokenId: string; json: boolean }
  | { name: 'revoke-all'; user: string; json: boolean }
  | { name: 'prune'; json: boolean };

type ValueOption =
  'user' | 'name' | 'scopes' | 'expires-in' | 'rate-limit' | 'max-uses' | 'uses-period' | 'allowed-ip' | 'metadata';

/** The options of a usage policy, as `issue` and `update` take them. */
const POLICY_OPTIONS = ['rate-limit', 'max-uses', 'uses-period', 'allowed-ip'] as const;

/** The options that may be given more than once, each adding a value. */
const REPEATABLE: ReadonlySet<ValueOption> = new Set(['allowed-ip']);

/** The policy options' lines of a command's help. */
const POLICY_HELP = [
  '  --rate-limit <limit>/<seconds>',
  '                          at most <limit> requests per window of <seconds>, e.g. 100/60;',
  '                          "none" for no rate limit',
  '  --max-uses <n>          requests the token may make in all; "none" for no limit',
  '  --uses-period <seconds> restores the uses to --max-uses after that long, e.g. 2592000',
  '                          for a monthly allowance; "none" never restores them',
  '  --allowed-ip <address>  an IPv4 or IPv6 address or CIDR range (203.0.113.0/24) the token',
  '                          may be used from; repeat it for several; "none" for any address',
];

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
    options: ['user', 'name', 'scopes', 'expires-in', ...POLICY_OPTIONS, 'metadata'],
    required: ['user', 'name', 'scopes'],
    argument: null,
    synopsis:
      'issue --user <name> --name <token name> --scopes <a,b> [--expires-in <seconds>] [--rate-limit <limit>/<seconds>] [--max-uses <n>] [--uses-period <seconds>] [--allowed-ip <address>]... [--metadata <json>]',
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
      ...POLICY_HELP,
      '  --metadata <json>       the app\'s data about the token, a JSON object: \'{"team":"billing"}\'',
      '',
      "A usage option left out takes the app's usage.defaults.",
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
    details: [
      "Shows each token's id, name, scopes, hint, times, status (live, paused, expired, revoked),",
      'rate limit, uses left of its --max-uses, and allowed addresses, newest first, and the',
      "user's live login sessions.",
    ].join('\n'),
  },
  update: {
    options: ['name', ...POLICY_OPTIONS, 'metadata'],
    required: [],
    argument: 'id',
    synopsis:
      'update <id> [--name <token name>] [--rate-limit <limit>/<seconds>] [--max-uses <n>] [--uses-period <seconds>] [--allowed-ip <address>]... [--metadata <json>]',
    summary: 'Rename a token or change its usage policy, by its id',
    details: [
      'Changes what the options give and leaves the rest; "none" removes a limit. A new',
      '--max-uses counts the uses already made: lowered below them, it leaves none.',
      '',
      '  --name <token name>     a new name, 1 to 100 characters',
      ...POLICY_HELP,
      '  --metadata <json>       new metadata, a JSON object replacing the old; "none" removes it',
      '',
      'Example: npm run tokens -- update <id> --rate-limit 10/1 --allowed-ip 203.0.113.0/24',
    ].join('\n'),
  },
  pause: {
    options: [],
    required: [],
    argument: 'id',
    synopsis: 'pause <id>',
    summary: 'Pause a token by its id: it is refused until resumed',
    details:
      'The id is the one "list" shows. A paused token is refused as "paused" (401) at once, on\nevery instance; "resume" makes it work again. Pausing a paused token changes nothing.',
  },
  resume: {
    options: [],
    required: [],
    argument: 'id',
    synopsis: 'resume <id>',
    summary: 'Resume a paused token by its id',
    details: 'The id is the one "list" shows. Resuming a token that is not paused changes nothing.',
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
  'rate-limit': '--rate-limit <limit>/<seconds>, e.g. --rate-limit 100/60',
  'max-uses': '--max-uses <n>, e.g. --max-uses 1000',
  'uses-period': '--uses-period <seconds>, e.g. --uses-period 2592000',
  'allowed-ip': '--allowed-ip <address>, e.g. --allowed-ip 203.0.113.0/24',
  metadata: '--metadata <json>, e.g. --metadata \'{"team":"billing"}\'',
};

/** Every option of every command: parseArgs refuses any other. */
const PARSE_OPTIONS = {
  user: { type: 'string', multiple: true },
  name: { type: 'string', multiple: true },
  scopes: { type: 'string', multiple: true },
  'expires-in': { type: 'string', multiple: true },
  'rate-limit': { type: 'string', multiple: true },
  'max-uses': { type: 'string', multiple: true },
  'uses-period': { type: 'string', multiple: true },
  'allowed-ip': { type: 'string', multiple: true },
  metadata: { type: 'string', multiple: true },
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
  if (given && given.length > 1 && !REPEATABLE.has(option))
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

/** The bounds the module checks a policy's numbers against (`usage-policy.ts`), said here before the app starts. */
const MAX_LIMIT = 1_000_000_000;
const MAX_SECONDS = 31_536_000;
const MAX_USES = 2_147_483_647;

/** A whole number from 1 to `max`, written as one; `undefined` when it is not. */
function wholeNumber(value: string, max: number): number | undefined {
  const number = /^[0-9]{1,16}$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(number) && number >= 1 && number <= max ? number : undefined;
}

/** `--max-uses` or `--uses-period`: a whole number from 1 to `max`, or `none`. */
function limitOption(
  option: 'max-uses' | 'uses-period',
  value: string | undefined,
  max: number,
): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  const number = wholeNumber(value, max);
  if (number === undefined) {
    const example = option === 'max-uses' ? '1000' : '2592000 for 30 days';
    throw new TokensCliUsageError(
      `--${option} must be a whole number from 1 to ${max}, e.g. ${example}, or "none" (got ${shown(value)})`,
    );
  }
  return number;
}

/** `--rate-limit <limit>/<seconds>`, or `none`. */
function rateLimitOption(value: string | undefined): RateLimit | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  const [limit, window, extra] = value.split('/');
  const parsed = {
    limit: extra === undefined && limit !== undefined ? wholeNumber(limit, MAX_LIMIT) : undefined,
    window: extra === undefined && window !== undefined ? wholeNumber(window, MAX_SECONDS) : undefined,
  };
  if (parsed.limit === undefined || parsed.window === undefined) {
    throw new TokensCliUsageError(
      `--rate-limit must be <limit>/<seconds>, a limit from 1 to ${MAX_LIMIT} per window of 1 to ${MAX_SECONDS} seconds, e.g. 100/60 for 100 requests a minute, or "none" (got ${shown(value)})`,
    );
  }
  return { limit: parsed.limit, window: parsed.window };
}

/**
 * The usage policy the options give, the parts left out absent. The addresses are checked by the
 * module, which knows CIDR ranges; its refusal is reported as this option's (`tokens-cli.commands.ts`).
 */
function policyOptions(values: Partial<Record<ValueOption, string[]>>): TokenUsagePolicy {
  const rateLimit = rateLimitOption(single(values, 'rate-limit'));
  const maxUses = limitOption('max-uses', single(values, 'max-uses'), MAX_USES);
  const usesPeriod = limitOption('uses-period', single(values, 'uses-period'), MAX_SECONDS);
  const addresses = values['allowed-ip'];
  let allowedIps: string[] | null | undefined;
  if (addresses !== undefined) {
    if (addresses.includes('none') && addresses.length > 1)
      throw new TokensCliUsageError('--allowed-ip none allows any address: give it alone, without other addresses');
    if (addresses.some((address) => address.trim() === ''))
      throw new TokensCliUsageError(`--allowed-ip needs an address: ${OPTION_HINTS['allowed-ip']}`);
    allowedIps = addresses[0] === 'none' ? null : addresses;
  }
  return {
    ...(rateLimit === undefined ? {} : { rateLimit }),
    ...(maxUses === undefined ? {} : { maxUses }),
    ...(usesPeriod === undefined ? {} : { usesPeriod }),
    ...(allowedIps === undefined ? {} : { allowedIps }),
  };
}

/** `--metadata`'s JSON object, or `none`; its bounds are the module's to check. */
function metadataOption(value: string | undefined): TokenMetadata | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'none') return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TokensCliUsageError(
      `--metadata must be a JSON object, e.g. --metadata '{"team":"billing"}', or "none" (got ${shown(value.length > 80 ? `${value.slice(0, 80)}…` : value)})`,
    );
  }
  return parsed as TokenMetadata;
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
    const given = Object.fromEntries(
      spec.options.filter((option) => !REPEATABLE.has(option)).map((option) => [option, single(values, option)]),
    ) as Partial<Record<ValueOption, string>>;
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
          policy: policyOptions(values),
          metadata: metadataOption(given.metadata),
          json,
        };
      case 'list':
        return { name: 'list', user: given.user!, json };
      case 'update': {
        const policy = policyOptions(values);
        const metadata = metadataOption(given.metadata);
        if (given.name === undefined && metadata === undefined && Object.keys(policy).length === 0)
          throw new TokensCliUsageError(
            `update needs something to change: --name, ${POLICY_OPTIONS.map((option) => `--${option}`).join(', ')}, --metadata`,
          );
        return { name: 'update', tokenId: rest[0]!, tokenName: given.name, policy, metadata, json };
      }
      case 'pause':
        return { name: 'pause', tokenId: rest[0]!, json };
      case 'resume':
        return { name: 'resume', tokenId: rest[0]!, json };
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
