import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { DataSource, IsNull, Not, type Repository } from 'typeorm';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { PASSWORD_GRANT_METADATA } from '../access-tokens.internal-constants.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { InvalidCredentialsError, InvalidOptionsError } from '../core/access-tokens.errors.js';
import { isPrintableText } from '../core/text.js';
import { unlessUnavailable } from '../storage/outage.js';
import { UserDirectory } from '../storage/user-directory.service.js';
import { AttemptLimiter, MemoryAttemptStore } from './password-attempts.js';
import type { AuthenticatableRequest } from '../access-tokens.interfaces.js';

/** What the module uses of `bcrypt`. */
interface Bcrypt {
  compare(data: string, encrypted: string): Promise<boolean>;
  hash(data: string, rounds: number): Promise<string>;
}

/** A bcrypt hash: version, cost, 22 characters of salt and 31 of hash. */
const BCRYPT_HASH = /^\$2[abxy]\$(\d{2})\$[./A-Za-z0-9]{53}$/;
/** The cost of the dummy hash until a real one is seen: bcrypt's own default. */
const DEFAULT_COST = 10;
/** Longer than any user name or password a client has reason to send; the Basic header is at most 1,024 too. */
const MAX_CREDENTIAL_LENGTH = 1024;

/** `bcrypt`, an optional peer, loaded on first need; the same module object for every app. */
let bcryptModule: Promise<Bcrypt> | undefined;

function loadBcrypt(): Promise<Bcrypt> {
  bcryptModule ??= import('bcrypt').then(
    (loaded) => ((loaded as { default?: Bcrypt }).default ?? loaded) as Bcrypt,
    (error: unknown) => {
      bcryptModule = undefined;
      const code = (error as { code?: unknown } | null)?.code;
      if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(error).includes("'bcrypt'")) {
        throw new InvalidOptionsError(
          '@AllowPassword() and PasswordGrantService check passwords with the "bcrypt" package: npm install bcrypt',
          { cause: error },
        );
      }
      throw error;
    },
  );
  return bcryptModule;
}

/**
 * The password grant: checks a user name and password against the app's user entity
 * (`user.usernameField`, bcrypt against `user.passwordHashField`), throttled per account and per
 * client. What `@AllowPassword()` routes use; call it from anywhere else a password signs in (a
 * GraphQL `login` mutation) so that every way in counts against the same account.
 *
 * Refusals tell nothing: a wrong password, an unknown user name, a user without a password hash and
 * a blocked user's right password get the same `InvalidCredentialsError`, after the same single
 * bcrypt comparison (an unknown user's against a dummy hash of the cost the real ones have). Only
 * the user name as stored signs in, not another spelling the database's collation matches. The
 * password is never logged, stored or returned.
 *
 * @example
 * @Public()
 * @Mutation(() => Session)
 * async login(@Args() { username, password }: LoginArgs, @Context('req') request: object) {
 *   const user = await this.passwords.authenticate<User>(username, password, request);
 *   return this.sessions.start(user);
 * }
 */
@Injectable()
export class PasswordGrantService implements OnApplicationBootstrap {
  private readonly logger = new Logger('AccessTokensModule');
  private readonly limiter: AttemptLimiter | null;
  private readonly repository: Repository<object>;
  /** The cost of the real hashes, as last seen in a sign-in; `null` until one is. */
  private cost: number | null = null;
  /** The cost of a hash in the user table, read once, for before any sign-in. */
  private storedCostLookup: Promise<number> | null = null;
  /** The dummy hash in use: what a user name without a usable hash is compared against. */
  private dummy: { cost: number; hash: string } | null = null;
  /** A dummy hash being made. */
  private making: { cost: number; hash: Promise<string> } | null = null;

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
    private readonly users: UserDirectory,
    dataSource: DataSource,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {
    const { throttle } = options.passwords;
    this.limiter = throttle && new AttemptLimiter(throttle.store ?? new MemoryAttemptStore(options.clock), throttle);
    this.repository = dataSource.getRepository(options.user.entity);
  }

  /**
   * When a route or resolver of the app has `@AllowPassword()`: checks that users have a password
   * field and that `bcrypt` is installed, so that the app stops at start-up rather than at the
   * first sign-in, and makes the dummy hash, so that the first unknown user name costs no more than
   * the next.
   */
  async onApplicationBootstrap(): Promise<void> {
    const marked = this.passwordRoutes();
    if (marked.length === 0) return;
    if (this.options.user.passwordHashField === null) {
      throw new InvalidOptionsError(
        `@AllowPassword() is on ${marked.join(', ')}, but user.passwordHashField is null: name the password hash property, or remove @AllowPassword()`,
      );
    }
    await loadBcrypt();
    await this.dummyHash();
  }

  /**
   * The user of that name and password, not blocked. Counts the attempt first, against the account
   * and against the client of `request` (`passwords.throttle.clientKey`, by default its
   * address), and throws `TooManyAttemptsError` (429) past either limit. Throws
   * `InvalidCredentialsError` (401) for a wrong password, an unknown user name, a user without a
   * password hash and a blocked user alike; `StoreUnavailableError` (503) when the database cannot
   * be reached.
   *
   * @param request the request the attempt came in, for the client's count; without it, the
   *   attempt counts against the account only.
   */
  async authenticate<User extends object = object>(
    username: string,
    password: string,
    request?: AuthenticatableRequest,
  ): Promise<User> {
    const wellFormed = isCredential(username) && isCredential(password);
    const { throttle } = this.options.passwords;
    await this.limiter?.hit(
      typeof username === 'string' ? username : null,
      (request && throttle?.clientKey(request)) ?? null,
    );
    const bcrypt = await loadBcrypt();
    const user = wellFormed ? await this.findUser(username) : null;
    const hash = user ? this.hashOf(user) : null;
    if (hash !== null) this.learnCost(hash);
    // One comparison whatever happened above, so that every refusal takes as long.
    const matches = await bcrypt.compare(wellFormed ? password : '', hash ?? (await this.dummyHash()));
    if (!user || hash === null || !matches || this.users.isBlocked(user)) throw new InvalidCredentialsError();
    return user as User;
  }

  /** The user whose name is exactly `username` (`UserDirectory.findByUsername`); an outage is a 503. */
  private findUser(username: string): Promise<object | null> {
    return unlessUnavailable(() => this.users.findByUsername(username));
  }

  /** The user's bcrypt hash, or `null` when they have none (or something else than a bcrypt hash). */
  private hashOf(user: object): string | null {
    const field = this.options.user.passwordHashField;
    const hash = field === null ? null : (user as Record<string, unknown>)[field];
    return typeof hash === 'string' && BCRYPT_HASH.test(hash) ? hash : null;
  }

  /**
   * A hash of a password nobody has, of the cost the real hashes have. While one of a new cost is
   * being made, the previous one serves: a refusal never waits for a hash to be made but the first.
   */
  private async dummyHash(): Promise<string> {
    if (this.dummy) return this.dummy.hash;
    this.storedCostLookup ??= this.storedCost();
    const stored = await this.storedCostLookup;
    return this.makeDummy(this.cost ?? stored);
  }

  private makeDummy(cost: number): Promise<string> {
    if (this.making?.cost === cost) return this.making.hash;
    const hash = loadBcrypt()
      .then((bcrypt) => bcrypt.hash(randomBytes(32).toString('base64'), cost))
      .then((made) => {
        this.dummy = { cost, hash: made };
        return made;
      })
      .finally(() => {
        if (this.making?.hash === hash) this.making = null;
      });
    this.making = { cost, hash };
    return hash;
  }

  /** The cost of a real hash seen in a sign-in: when it differs, a dummy of that cost is made ahead of need. */
  private learnCost(hash: string): void {
    const cost = Number(BCRYPT_HASH.exec(hash)![1]);
    if (this.cost === cost) return;
    this.cost = cost;
    if (this.dummy && this.dummy.cost !== cost) {
      this.makeDummy(cost).catch((error: unknown) =>
        this.logger.warn(`Could not make a dummy password hash: ${String(error)}`),
      );
    }
  }

  /** The cost of a hash in the user table, or bcrypt's default when there is none yet. */
  private async storedCost(): Promise<number> {
    const field = this.options.user.passwordHashField;
    if (field === null) return DEFAULT_COST;
    try {
      const user = await this.repository.findOne({ select: { [field]: true }, where: { [field]: Not(IsNull()) } });
      const hash = user && (user as Record<string, unknown>)[field];
      const match = typeof hash === 'string' ? BCRYPT_HASH.exec(hash) : null;
      return match ? Number(match[1]) : DEFAULT_COST;
    } catch {
      // No table yet (migrations run later), or no database now: the default, until a sign-in shows the real cost.
      return DEFAULT_COST;
    }
  }

  /** The routes and resolvers of the app that carry `@AllowPassword()`, as `Class.method`. */
  private passwordRoutes(): string[] {
    const marked: string[] = [];
    for (const wrapper of [...this.discovery.getControllers(), ...this.discovery.getProviders()]) {
      const type = wrapper.metatype;
      if (typeof type !== 'function' || !type.prototype) continue;
      const prototype = type.prototype as Record<string, unknown>;
      const onClass = Reflect.getMetadata(PASSWORD_GRANT_METADATA, type) === true;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method = prototype[name];
        if (onClass || (typeof method === 'function' && Reflect.getMetadata(PASSWORD_GRANT_METADATA, method) === true))
          marked.push(`${type.name}.${name}`);
      }
    }
    return marked;
  }
}

/** A user name or password the module will look at: text a database and bcrypt take as it is. */
function isCredential(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_CREDENTIAL_LENGTH && isPrintableText(value);
}
