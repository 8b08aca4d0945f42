// The half of the CLI that runs a command in the app: `runTokensCli` loads it only once the
// command line is understood, as it loads Nest, TypeORM and the module's services.
import { Logger, type INestApplicationContext, type LoggerService, type LogLevel, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { getRepositoryToken } from '@nestjs/typeorm';
import { In, Not, type Repository } from 'typeorm';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import type { AccessTokenView } from '../access-tokens.interfaces.js';
import {
  AccountBlockedError,
  AccessTokensError,
  InvalidScopeError,
  InvalidMetadataError,
  InvalidTokenNameError,
  InvalidUsagePolicyError,
  StoreUnavailableError,
  TokenNotFoundError,
} from '../core/access-tokens.errors.js';
import { isTokenId } from '../core/token-format.js';
import { AccessToken } from '../storage/access-token.entity.js';
import { isDatabaseUnavailable } from '../storage/outage.js';
import { UserDirectory } from '../storage/user-directory.service.js';
import { TokensService } from '../tokens.service.js';
import type { TokensCliCommand } from './tokens-cli.arguments.js';
import { REVOKED_BY_ADMIN } from './tokens-cli.constants.js';
import { EXIT, shown, TokensCliSetupError, TokensCliUsageError, UnknownUserError } from './tokens-cli.errors.js';
import {
  jsonLine,
  policySentence,
  policyText,
  statusOf,
  tokenTable,
  when,
  type ListedToken,
  type ListedUser,
} from './tokens-cli.output.js';
import type { TokensCliApp, TokensCliModule } from './tokens-cli.app.js';

type Command = Exclude<TokensCliCommand, { name: 'help' }>;

/** A command that did not succeed: the exit code, and what to tell the user. */
export interface TokensCliFailure {
  exitCode: number;
  code: string;
  message: string;
}

type Output = { write(text: string): unknown };

/** Opens the app, runs `command` in it, closes it if it opened it; a failure, or `null` when done. */
export async function runCommand(
  app: TokensCliApp,
  command: Command,
  io: { stdout: Output; stderr: Output; logLevels: readonly LogLevel[] },
): Promise<TokensCliFailure | null> {
  let opened: { context: INestApplicationContext; owned: boolean };
  try {
    opened = await open(app, new StderrLogger(io.stderr, io.logLevels));
  } catch (error) {
    if (isDatabaseUnavailable(error))
      return {
        exitCode: EXIT.refused,
        code: 'store_unavailable',
        message: `the database cannot be reached: ${messageOf(error)}`,
      };
    return {
      exitCode: EXIT.refused,
      code: error instanceof AccessTokensError ? error.code : 'app_start_failed',
      message: `the app could not start: ${messageOf(error)}`,
    };
  }
  try {
    await new TokensCli(opened.context, io).run(command);
    return null;
  } catch (error) {
    return describe(error, command);
  } finally {
    if (opened.owned) await opened.context.close();
  }
}

/** What to tell the user of a failure: exit code, error code and a message saying what to fix. */
function describe(error: unknown, command: Command): TokensCliFailure {
  const refused = (code: string, message: string): TokensCliFailure => ({ exitCode: EXIT.refused, code, message });
  if (error instanceof TokensCliUsageError) return { exitCode: EXIT.usage, code: error.code, message: error.message };
  if (error instanceof TokenNotFoundError) {
    const message = isTokenId(error.tokenId)
      ? `unknown token id ${shown(error.tokenId)}: no token has that id; "list --user <name>" shows a user's token ids`
      : `unknown token id ${shown(error.tokenId)}: a token id is a UUID, as "list --user <name>" shows it, not the token itself`;
    return refused(error.code, message);
  }
  if (error instanceof InvalidScopeError) return refused(error.code, `invalid --scopes: ${error.message}`);
  if (error instanceof InvalidTokenNameError) return refused(error.code, `invalid --name: ${error.message}`);
  if (error instanceof InvalidMetadataError)
    return { exitCode: EXIT.usage, code: 'cli_usage', message: `invalid --metadata: ${error.message}` };
  if (error instanceof InvalidUsagePolicyError) {
    // The option the user typed, where the module names the policy's part: a command line to correct.
    return { exitCode: EXIT.usage, code: 'cli_usage', message: inOptionWords(error.message) };
  }
  if (error instanceof AccountBlockedError && 'user' in command) {
    return refused(error.code, `user ${shown(command.user)} is blocked: unblock them to issue a token`);
  }
  if (error instanceof StoreUnavailableError || isDatabaseUnavailable(error)) {
    return refused(
      'store_unavailable',
      `the database cannot be reached (${messageOf(error)}): check the app's database settings, or try again once it is back`,
    );
  }
  if (error instanceof AccessTokensError) return refused(error.code, error.message);
  return refused('failed', `${command.name} failed: ${messageOf(error)}`);
}

/** The options of the CLI for the parts of a usage policy, as the module's messages name them. */
const POLICY_PART_OPTIONS: readonly (readonly [RegExp, string])[] = [
  [/\brateLimit(\.(limit|window))?\b/g, '--rate-limit'],
  [/\bmaxUses\b/g, '--max-uses'],
  [/\busesPeriod\b/g, '--uses-period'],
  [/\ballowedIps\b/g, '--allowed-ip'],
];

/** A message of `InvalidUsagePolicyError` in the CLI's words: `usesPeriod needs maxUses` → `--uses-period needs --max-uses`. */
function inOptionWords(message: string): string {
  return POLICY_PART_OPTIONS.reduce((text, [part, option]) => text.replace(part, option), message);
}

/** The error's own message, or its cause's when it wraps a driver's error. */
function messageOf(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const own = error instanceof Error ? error.message : String(error);
  return error instanceof StoreUnavailableError && cause instanceof Error ? cause.message : own;
}

const isClass = (value: unknown): value is Type<unknown> =>
  typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));

const isContext = (value: unknown): value is INestApplicationContext =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as INestApplicationContext).get === 'function' &&
  typeof (value as INestApplicationContext).close === 'function';

/** The application context to run in, and whether the CLI created it (and so closes it). */
async function open(
  app: TokensCliApp,
  logger: LoggerService,
): Promise<{ context: INestApplicationContext; owned: boolean }> {
  if (isContext(app)) return { context: app, owned: false };
  let module: TokensCliModule | INestApplicationContext = app as TokensCliModule;
  if (typeof app === 'function' && !isClass(app)) {
    // What the factory logs (a configuration notice) must not reach stdout either: Nest points its
    // static Logger at this logger as it creates the context anyway, so do it before.
    Logger.overrideLogger(logger);
    module = await app();
    if (isContext(module)) return { context: module, owned: true };
  }
  // abortOnError: false, or Nest ends the process on a start-up error rather than throwing it.
  const context = await NestFactory.createApplicationContext(module, { logger, abortOnError: false });
  return { context, owned: true };
}

/** The app's logs, one line each, on stderr: stdout belongs to the command's output. */
class StderrLogger implements LoggerService {
  private readonly levels: ReadonlySet<LogLevel>;

  constructor(
    private readonly stream: Output,
    levels: readonly LogLevel[],
  ) {
    this.levels = new Set(levels);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.print('log', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.print('error', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.print('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.print('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.print('verbose', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.print('fatal', message, rest);
  }

  private print(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (!this.levels.has(level)) return;
    // Nest passes the context last; an error's stack before it is left out: the CLI says what failed.
    const context = rest.length > 0 && typeof rest.at(-1) === 'string' ? `[${String(rest.at(-1))}] ` : '';
    const text =
      message instanceof Error ? message.message : typeof message === 'string' ? message : JSON.stringify(message);
    this.stream.write(`${level.toUpperCase()} ${context}${text}\n`);
  }
}

/** The commands, on the services of one application context. */
class TokensCli {
  private readonly tokens: TokensService;
  private readonly users: UserDirectory;
  private readonly repository: Repository<AccessToken>;
  private readonly options: ResolvedAccessTokensOptions;

  constructor(
    context: INestApplicationContext,
    private readonly io: { stdout: Output; stderr: Output },
  ) {
    try {
      this.tokens = context.get(TokensService, { strict: false });
      this.users = context.get(UserDirectory, { strict: false });
      this.repository = context.get<unknown, Repository<AccessToken>>(getRepositoryToken(AccessToken), {
        strict: false,
      });
      this.options = context.get<symbol, ResolvedAccessTokensOptions>(RESOLVED_OPTIONS, { strict: false });
    } catch (error) {
      throw new TokensCliSetupError(error);
    }
  }

  async run(command: Exclude<TokensCliCommand, { name: 'help' }>): Promise<void> {
    switch (command.name) {
      case 'issue':
        return this.issue(command);
      case 'list':
        return this.list(command);
      case 'update':
        return this.update(command);
      case 'pause':
      case 'resume':
        return this.pauseOrResume(command);
      case 'revoke':
        return this.revoke(command);
      case 'revoke-all':
        return this.revokeAll(command);
      case 'prune':
        return this.prune(command);
    }
  }

  private async issue({
    user: username,
    tokenName,
    scopes,
    expiresIn,
    policy,
    metadata,
    json,
  }: Extract<TokensCliCommand, { name: 'issue' }>): Promise<void> {
    const max = this.options.tokens.maxLifetimeSeconds;
    if (expiresIn !== undefined && max !== null && expiresIn > max) {
      throw new TokensCliUsageError(
        `--expires-in must be a positive whole number of seconds, at most ${max} (got ${expiresIn})`,
      );
    }
    const user = await this.user(username);
    const { token, accessToken } = await this.tokens.issue(user, {
      ...policy,
      name: tokenName,
      scopes,
      expiresIn,
      metadata,
    });
    const listed: ListedToken = { ...accessToken, status: 'live' };
    if (json) {
      this.io.stdout.write(jsonLine({ token, accessToken: listed, user: this.listedUser(user) }));
      return;
    }
    this.io.stdout.write(`${token}\n`);
    this.io.stderr.write(
      `Issued token ${accessToken.id} ${shown(accessToken.name)} (${accessToken.hint}) to ${shown(username)}, ` +
        `scopes ${accessToken.scopes.join(',')}, expires ${when(accessToken.expiresAt, 'never')}${policySentence(accessToken)}. ` +
        'It is shown this once: store it now.\n',
    );
  }

  private async list({ user: username, json }: Extract<TokensCliCommand, { name: 'list' }>): Promise<void> {
    const user = await this.user(username);
    const userId = this.users.idOf(user);
    const views = await this.tokens.list(userId);
    const live = await this.liveIds(userId);
    const now = this.options.clock.now();
    const listed = views.map((view): ListedToken => ({ ...view, status: statusOf(view, live, now) }));
    if (json) {
      this.io.stdout.write(jsonLine({ user: this.listedUser(user), tokens: listed }));
    } else {
      this.io.stdout.write(listed.length === 0 ? `${shown(username)} has no tokens\n` : tokenTable(listed, now));
    }
  }

  private async update({
    tokenId,
    tokenName,
    policy,
    metadata,
    json,
  }: Extract<TokensCliCommand, { name: 'update' }>): Promise<void> {
    const found = await this.personal(tokenId);
    const view = await this.tokens.update(found.userId, tokenId, { ...policy, name: tokenName, metadata });
    const { user, owner } = await this.owner(found.userId);
    const listed: ListedToken = { ...view, status: statusOf(view, await this.liveIds(found.userId), this.now()) };
    if (json) {
      this.io.stdout.write(jsonLine({ accessToken: listed, user }));
      return;
    }
    this.io.stdout.write(
      `Updated the token ${view.id} ${shown(view.name)} (${view.hint}) of ${owner}: ${policyText(view)}\n`,
    );
  }

  private async pauseOrResume({
    name,
    tokenId,
    json,
  }: Extract<TokensCliCommand, { name: 'pause' | 'resume' }>): Promise<void> {
    const found = await this.personal(tokenId);
    const pause = name === 'pause';
    const changed = (found.pausedAt === null) === pause;
    const view = await (pause ? this.tokens.pause(found.userId, tokenId) : this.tokens.resume(found.userId, tokenId));
    const { user, owner } = await this.owner(found.userId);
    const listed: ListedToken = { ...view, status: statusOf(view, await this.liveIds(found.userId), this.now()) };
    if (json) {
      this.io.stdout.write(jsonLine({ [pause ? 'paused' : 'resumed']: changed, accessToken: listed, user }));
      return;
    }
    const what = `token ${view.id} ${shown(view.name)} (${view.hint}) of ${owner}`;
    this.io.stdout.write(
      changed
        ? `${pause ? 'Paused' : 'Resumed'} the ${what}\n`
        : `The ${what} was ${pause ? 'already paused' : 'not paused'}\n`,
    );
  }

  /** The personal token of that id, whoever owns it: login sessions are neither paused nor changed. */
  private async personal(tokenId: string): Promise<AccessToken> {
    if (!isTokenId(tokenId)) throw new TokenNotFoundError(tokenId);
    const found = await this.repository.findOneBy({ id: tokenId, kind: 'personal' as const });
    if (!found) throw new TokenNotFoundError(tokenId);
    return found;
  }

  /** A token's owner, for JSON and in words (by user id when the user is gone). */
  private async owner(userId: string): Promise<{ user: ListedUser; owner: string }> {
    const found = await this.users.findById(userId);
    return found
      ? { user: this.listedUser(found), owner: shown(this.listedUser(found).username) }
      : { user: { id: userId, username: '' }, owner: `user id ${userId}` };
  }

  private now(): Date {
    return this.options.clock.now();
  }

  private async revoke({ tokenId, json }: Extract<TokensCliCommand, { name: 'revoke' }>): Promise<void> {
    if (!isTokenId(tokenId)) throw new TokenNotFoundError(tokenId);
    // A refresh token is never listed: its id is no token to revoke here, as for `TokensService.revoke`;
    // nor a team's token, whose owner is no user (`TeamTokensService.revoke` revokes it).
    const found = await this.repository.findOneBy({ id: tokenId, kind: Not(In(['refresh', 'team'] as const)) });
    if (!found) throw new TokenNotFoundError(tokenId);
    const wasRevoked = found.revokedAt !== null && found.revokedAt.getTime() <= this.options.clock.now().getTime();
    const view = await this.tokens.revoke(found.userId, tokenId, REVOKED_BY_ADMIN);
    const owner = await this.users.findById(found.userId);
    const user: ListedUser = owner ? this.listedUser(owner) : { id: found.userId, username: '' };
    const listed: ListedToken = { ...view, status: 'revoked' };
    if (json) {
      this.io.stdout.write(jsonLine({ revoked: !wasRevoked, accessToken: listed, user }));
      return;
    }
    const what = `token ${view.id} ${shown(view.name)} (${view.hint}) of ${owner ? shown(user.username) : `user id ${found.userId}`}`;
    this.io.stdout.write(
      wasRevoked ? `The ${what} was already revoked (${view.revokedReason ?? 'revoked'})\n` : `Revoked the ${what}\n`,
    );
  }

  private async revokeAll({ user: username, json }: Extract<TokensCliCommand, { name: 'revoke-all' }>): Promise<void> {
    const user = await this.user(username);
    const count = await this.tokens.revokeAll(this.users.idOf(user), REVOKED_BY_ADMIN);
    if (json) {
      this.io.stdout.write(jsonLine({ revoked: count, user: this.listedUser(user) }));
    } else {
      this.io.stdout.write(`Revoked ${count} token${count === 1 ? '' : 's'} of ${shown(username)}\n`);
    }
  }

  private async prune({ json }: Extract<TokensCliCommand, { name: 'prune' }>): Promise<void> {
    const count = await this.tokens.prune();
    this.io.stdout.write(json ? jsonLine({ pruned: count }) : `Pruned ${count} token${count === 1 ? '' : 's'}\n`);
  }

  /** The user of that name, exactly as stored. */
  private async user(username: string): Promise<object> {
    const user = await this.users.findByUsername(username);
    if (!user) throw new UnknownUserError(username, this.options.user.usernameField);
    return user;
  }

  private listedUser(user: object): ListedUser {
    const { idField, usernameField } = this.options.user;
    const fields = user as Record<string, unknown>;
    const id = fields[idField];
    return { id: typeof id === 'number' ? id : this.users.idOf(user), username: String(fields[usernameField]) };
  }

  /** The ids of the user's tokens that authenticate now, as the module decides it (idle timeouts too). */
  private async liveIds(userId: string): Promise<Set<string>> {
    const live = new Set<string>();
    let cursor: string | null = null;
    do {
      const page: { tokens: AccessTokenView[]; nextCursor: string | null } = await this.tokens.page(userId, {
        status: 'live',
        limit: 100,
        cursor,
      });
      for (const token of page.tokens) live.add(token.id);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return live;
  }
}
