import type { LogLevel } from '@nestjs/common';
import type { TokensCliApp } from './tokens-cli.app.js';
import { parseTokensCliArgs, tokensCliHelp, type TokensCliCommand } from './tokens-cli.arguments.js';
import { EXIT, TokensCliUsageError } from './tokens-cli.errors.js';
import { jsonLine } from './tokens-cli.output.js';

/** Where `runTokensCli` writes, and what it calls itself. */
export interface TokensCliIo {
  /** Results: the raw token of `issue`, the table of `list`, JSON. Default `process.stdout`. */
  stdout?: { write(text: string): unknown };
  /** Errors, notices and the app's own logs. Default `process.stderr`. */
  stderr?: { write(text: string): unknown };
  /** How the help names the program, e.g. `npm run tokens --`. Default `tokens`. */
  program?: string;
  /** The app's log levels written to `stderr` while the command runs. Default `['error', 'warn', 'fatal']`. */
  logLevels?: LogLevel[];
}

/**
 * Runs one command of the tokens CLI against an app, and returns the exit code: 0 done, 1
 * refused (an unknown user or token id, a scope the user may not grant, too many tokens, the
 * database away, an app that does not start), 2 a command line to correct (changing nothing).
 *
 * Commands: `issue --user <name> --name <name> --scopes <a,b> [--expires-in <seconds>]`,
 * `list --user <name>`, `revoke <id>`, `revoke-all --user <name>`, `prune`; `--json` on each for
 * machine output, `--help`. Users are found by the module's `usernameField`. `issue` prints the
 * raw token alone on stdout, so that `TOKEN=$(… issue …)` captures it; everything else it says,
 * and every error, goes to stderr, and no message ever holds a raw token. The app's logs go to
 * stderr too, errors and warnings only unless `io.logLevels` says otherwise.
 *
 * `--help` and a command line to correct load neither Nest nor the app: they answer at once.
 *
 * @example
 * // src/cli.ts, with runTokensCli from `nestjs-access-tokens/cli`; run as
 * // `node dist/cli.js issue --user alice --name deploy --scopes users:read`
 * process.exitCode = await runTokensCli(AppModule, process.argv.slice(2));
 */
export async function runTokensCli(app: TokensCliApp, argv: readonly string[], io: TokensCliIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const program = io.program ?? 'tokens';
  const end = argv.indexOf('--');
  const json = (end < 0 ? argv : argv.slice(0, end)).includes('--json');
  const fail = (exitCode: number, code: string, message: string, command: string | null): number => {
    if (json) {
      stderr.write(jsonLine({ error: { code, message } }));
    } else {
      const help = exitCode === EXIT.usage ? `\nRun "${program}${command ? ` ${command}` : ''} --help" for usage.` : '';
      stderr.write(`error: ${message}${help}\n`);
    }
    return exitCode;
  };

  let command: TokensCliCommand;
  try {
    command = parseTokensCliArgs(argv);
  } catch (error) {
    if (!(error instanceof TokensCliUsageError)) throw error;
    return fail(EXIT.usage, error.code, error.message, error.command);
  }
  if (command.name === 'help') {
    stdout.write(tokensCliHelp(program, command.topic));
    return EXIT.ok;
  }
  const { runCommand } = await import('./tokens-cli.commands.js');
  const failure = await runCommand(app, command, {
    stdout,
    stderr,
    logLevels: io.logLevels ?? ['error', 'warn', 'fatal'],
  });
  return failure
    ? fail(failure.exitCode, failure.code, failure.message, failure.exitCode === EXIT.usage ? command.name : null)
    : EXIT.ok;
}
