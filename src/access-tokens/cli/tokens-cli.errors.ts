import { AccessTokensError } from '../core/access-tokens.errors.js';

/** The CLI's exit codes: done, refused by the app, a command line to correct. */
export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

/**
 * The command line cannot be understood: an unknown command or option, a missing or repeated
 * option, a value of the wrong form. The CLI exits with 2 and changes nothing.
 */
export class TokensCliUsageError extends AccessTokensError {
  readonly code = 'cli_usage';

  /** @param command the command whose usage to point at, when one was recognised. */
  constructor(
    message: string,
    readonly command: string | null = null,
  ) {
    super(message);
  }
}

/** No user has the name given to `--user`. The CLI exits with 1. */
export class UnknownUserError extends AccessTokensError {
  readonly code = 'unknown_user';

  /**
   * @param username the name as given.
   * @param field the user entity's `usernameField`, so that the message names what was compared.
   */
  constructor(
    readonly username: string,
    field: string,
  ) {
    super(`unknown user ${shown(username)}: no user has ${field} ${shown(username)}`);
  }
}

/** The app given to the CLI does not import `AccessTokensModule`. */
export class TokensCliSetupError extends AccessTokensError {
  readonly code = 'cli_setup';

  constructor(cause: unknown) {
    super(
      'the app has no AccessTokensModule: give runTokensCli the root module that imports AccessTokensModule.forRoot()',
      { cause },
    );
  }
}

/**
 * A value from the command line, quoted for a message. A long one is cut after its first
 * characters: someone may paste a raw token where an id or a name belongs, and an error message
 * must not repeat it. (Of a token, the first 12 characters are at most its prefix, key id and
 * expiry, none of them secret.)
 */
export function shown(value: string): string {
  return JSON.stringify(value.length <= 40 ? value : `${value.slice(0, 12)}…`);
}
