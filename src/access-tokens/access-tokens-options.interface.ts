import type { Type } from '@nestjs/common';
import { InvalidOptionsError } from './core/access-tokens.errors.js';
import { systemClock, type Clock } from './core/clock.js';
import { SECRET_ADVICE, secretProblem, signingKeys, type SigningKeys } from './core/keys.js';
import { MAX_TOKEN_PREFIX_LENGTH, TOKEN_PREFIX_PATTERN } from './core/token-format.js';
import type { PasswordAttemptStore } from './password/password-attempts.js';
import type { AuthenticatableRequest } from './access-tokens.interfaces.js';

/** How the module reads the app's own user entity. */
export interface AccessTokensUserOptions<User extends object = object> {
  /** The app's user entity class; it must be registered with the app's TypeORM `DataSource`. */
  entity: Type<User>;
  /** The primary key property. Default `'id'`. */
  idField?: string;
  /** The user name property. Default `'username'`. */
  usernameField?: string;
  /** The password hash property, or `null` if users have none. Default `'passwordHash'`. */
  passwordHashField?: string | null;
  /** The boolean "blocked" property, or `null` if users cannot be blocked. Default `'blocked'`. */
  blockedField?: string | null;
  /**
   * What the user may do now. No token of theirs ever grants more: at each request, a token's
   * effective scopes are its own scopes intersected with these. Default: no cap.
   */
  permissions?(user: User): readonly string[] | Promise<readonly string[]>;
}

/** How instances tell each other to drop cached verifications. */
export type CacheBusOptions =
  /** Redis pub/sub (with `ioredis`). */
  | { type: 'redis'; url: string; channel?: string }
  /** PostgreSQL LISTEN/NOTIFY, on the app's own PostgreSQL DataSource. */
  | { type: 'postgres'; channel?: string };

/** The verification cache. */
export interface CacheOptions {
  /** The most cached verifications. Default 10,000. */
  max?: number;
  /**
   * Seconds a verification is trusted for without a bus, or while the bus is down; bounds
   * staleness if an invalidation is lost. Default 10.
   */
  ttl?: number;
  /**
   * Seconds a verification is trusted for while the bus is connected, when every revocation and
   * user change reaches every instance as it happens. Meanwhile each instance reads its cached
   * verifications again in the background, 500 per query, once they are half this old, so that a
   * busy token is not read again as its entry ages out, and a change no subscriber saw (raw SQL)
   * is still found within this time. When the bus drops, the cache is flushed and `ttl` applies
   * until it is back (and flushed again). At least `ttl`. Default 300.
   */
  busTtl?: number;
  /** Invalidation across instances; without it, other instances see a revocation within `ttl`. */
  bus?: CacheBusOptions;
}

/** How `@AllowPassword()` routes and `PasswordGrantService` throttle password attempts. */
export interface PasswordThrottleOptions {
  /** Attempts per account (every spelling of its name the collation matches) per `window`. Default 10. */
  perAccount?: number;
  /** Attempts per client (by `clientKey`) per `window`, whatever the account. Default 30. */
  perClient?: number;
  /** The window, in seconds; past a limit, the account or client waits this long. Default 60. */
  window?: number;
  /**
   * Where attempts are counted. Default: this app's memory, on `clock`. Any @nestjs/throttler
   * `ThrottlerStorage` fits; a shared one (Redis) makes every instance of the app count together.
   */
  store?: PasswordAttemptStore;
  /**
   * The client an attempt comes from, or `undefined` to count it against its account only.
   * Default: `request.ip` (Express's and Fastify's, which honour their `trust proxy` settings).
   */
  clientKey?(request: AuthenticatableRequest): string | undefined;
}

/** The password grant: `@AllowPassword()` routes and `PasswordGrantService`. */
export interface PasswordGrantOptions {
  /**
   * Throttling of password attempts, or `false` for none (only behind throttling of the app's own).
   * Default `{ perAccount: 10, perClient: 30, window: 60 }`, counted in memory.
   */
  throttle?: PasswordThrottleOptions | false;
}

/** Options of `AccessTokensModule.forRoot()` / `forRootAsync()`. */
export interface AccessTokensModuleOptions {
  /** The app's user entity and how to read it. */
  user: AccessTokensUserOptions;
  /**
   * The app's secret: at least 32 random bytes, from the environment or a secret store, never
   * from the code. Keys are derived from it (HKDF) to sign every token, so that a token this app
   * did not issue is refused before any lookup, and to fingerprint users' watched fields.
   *
   * To rotate it, pass a list: the first secret signs, every one verifies. Put the new secret
   * first, keep the old one until its tokens have expired or been replaced, then remove it: the
   * tokens it signed are then refused as `malformed`, at no cost.
   *
   * Required. The type takes `undefined` so that `process.env.TOKEN_SECRET` can be passed as it
   * is: start-up then stops, saying how to make one.
   *
   * @example secret: process.env.TOKEN_SECRET
   * @example secret: [process.env.TOKEN_SECRET_NEW, process.env.TOKEN_SECRET]
   */
  secret: string | readonly (string | undefined)[] | undefined;
  /** The prefix of every token: lower-case letters and digits, `_`-separated. Default `'nat'`. */
  tokenPrefix?: string;
  /** Lifetime in seconds of a token issued without `expiresIn`; `null`: no expiry. Default 30 days. */
  defaultExpiresIn?: number | null;
  /** The longest lifetime in seconds a token may ask for; `null`: no limit. Default 365 days. */
  maxExpiresIn?: number | null;
  /** Accept the token in the `queryParameter` query parameter (it leaks into logs). Default `false`. */
  allowQueryParameter?: boolean;
  /**
   * The query parameter that carries the token when `allowQueryParameter` is on. Default
   * `'access_token'` (RFC 6750 §2.3); the CollectiveAccess API names it `jwt`.
   */
  queryParameter?: string;
  /**
   * What `AccessTokenGuard` does with credentials that are not this module's tokens: a Bearer
   * token without the `tokenPrefix` (a JWT, say), or another `Authorization` scheme.
   * - `'refuse'` (default): 401, as for any bad token.
   * - `'pass'`: let the request through unauthenticated, for the next guard (the app's JWT guard,
   *   or `AccessTokensAuthGuard('jwt')`) to authenticate. Requests without credentials are still
   *   refused. Only with such a guard after it: on its own it would open every route to them.
   */
  foreignCredentials?: 'refuse' | 'pass';
  /** The `realm` of `WWW-Authenticate` challenges. Default `'api'`. */
  realm?: string;
  /** `lastUsedAt` is written at most once per token per this many seconds. Default 60. */
  lastUsedInterval?: number;
  /** Where the time comes from; tests pass a controllable clock. Default: the system clock. */
  clock?: Clock;
  /**
   * User properties whose change revokes all the user's tokens. For `blockedField`, only the change
   * to blocked counts. Default: `usernameField`, `passwordHashField`, `blockedField`.
   */
  revokeOn?: string[];
  /**
   * A policy consulted first when a user is saved: return a reason (recorded and reported in the
   * 401) to revoke all the user's tokens, or `false` to let `revokeOn` decide. Sees `save()` writes
   * only, as TypeORM gives the row before the change only to those.
   *
   * @example shouldRevoke: (before, after) => before.role !== after.role && 'role_changed'
   */
  shouldRevoke?(before: object, after: object): string | false | null | undefined;
  /** Seconds of disuse after which a personal token expires; `null`: never idles out. Default `null`. */
  idleExpiresIn?: number | null;
  /**
   * Seconds an expired or revoked token is kept, answering `expired` / `revoked` with its reason,
   * before pruning deletes it (it then answers `unknown`, or `expired` by its signed expiry).
   * Default 7 days.
   */
  retention?: number;
  /** Seconds between runs of the background work (pruning, expiry notices). Default 300. */
  maintenanceInterval?: number;
  /** Whether the background work prunes tokens past `retention`. Default `true`. */
  prune?: boolean;
  /** Seconds before a personal token expires at which the `expiring` event fires, once; `false`: never. Default 7 days. */
  expiringNotice?: number | false;
  /** The most live personal tokens one user may hold; `null`: no limit. Default 100. */
  maxTokensPerUser?: number | null;
  /** Lifetime in seconds of a login session's access token. Default 900. */
  sessionAccessTtl?: number;
  /** Lifetime in seconds of a login session's refresh token. Default 7 days. */
  sessionRefreshTtl?: number;
  /**
   * The in-process verification cache, or `false` for none (every request then costs one indexed
   * query). Default `{ max: 10000, ttl: 10, busTtl: 300 }`, no bus.
   */
  cache?: CacheOptions | false;
  /**
   * The password grant of `@AllowPassword()` routes (and of `PasswordGrantService`): bcrypt against
   * `user.passwordHashField`, throttled. Default: throttled `{ perAccount: 10, perClient: 30, window: 60 }`.
   */
  passwordGrant?: PasswordGrantOptions;
}

/** The password throttling with its defaults applied. */
export interface ResolvedPasswordThrottle {
  readonly perAccount: number;
  readonly perClient: number;
  readonly window: number;
  /** `null`: the module's own memory store. */
  readonly store: PasswordAttemptStore | null;
  readonly clientKey: (request: AuthenticatableRequest) => string | undefined;
}

/** The options with every default applied; what the module's services read. */
export interface ResolvedAccessTokensOptions {
  readonly user: {
    readonly entity: Type<object>;
    readonly idField: string;
    readonly usernameField: string;
    readonly passwordHashField: string | null;
    readonly blockedField: string | null;
    readonly permissions: ((user: object) => readonly string[] | Promise<readonly string[]>) | null;
  };
  readonly tokenPrefix: string;
  readonly defaultExpiresIn: number | null;
  readonly maxExpiresIn: number | null;
  readonly allowQueryParameter: boolean;
  readonly queryParameter: string;
  readonly foreignCredentials: 'refuse' | 'pass';
  readonly realm: string;
  readonly lastUsedInterval: number;
  readonly clock: Clock;
  readonly revokeOn: readonly string[];
  readonly shouldRevoke: ((before: object, after: object) => string | false | null | undefined) | null;
  /** The keys derived from `secret`; the secret itself is not kept. */
  readonly keys: SigningKeys;
  readonly idleExpiresIn: number | null;
  readonly retention: number;
  readonly maintenanceInterval: number;
  readonly prune: boolean;
  readonly expiringNotice: number | false;
  readonly maxTokensPerUser: number | null;
  readonly sessionAccessTtl: number;
  readonly sessionRefreshTtl: number;
  /** Prefixes of session access tokens and of refresh tokens, derived from `tokenPrefix`. */
  readonly sessionAccessPrefix: string;
  readonly refreshPrefix: string;
  readonly cache: {
    readonly max: number;
    readonly ttl: number;
    readonly busTtl: number;
    readonly bus: CacheBusOptions | null;
  } | null;
  /** `throttle: null` when off. */
  readonly passwordGrant: { readonly throttle: ResolvedPasswordThrottle | null };
}

const DAY = 24 * 60 * 60;

/** The defaults, in one place. */
export const ACCESS_TOKENS_DEFAULTS = {
  user: { idField: 'id', usernameField: 'username', passwordHashField: 'passwordHash', blockedField: 'blocked' },
  tokenPrefix: 'nat',
  defaultExpiresIn: 30 * DAY,
  maxExpiresIn: 365 * DAY,
  allowQueryParameter: false,
  queryParameter: 'access_token',
  foreignCredentials: 'refuse',
  realm: 'api',
  lastUsedInterval: 60,
  idleExpiresIn: null,
  retention: 7 * DAY,
  maintenanceInterval: 300,
  prune: true,
  expiringNotice: 7 * DAY,
  maxTokensPerUser: 100,
  sessionAccessTtl: 900,
  sessionRefreshTtl: 7 * DAY,
  cache: { max: 10_000, ttl: 10, busTtl: 300 },
  busChannel: 'access_tokens_invalidation',
  passwordGrant: { throttle: { perAccount: 10, perClient: 30, window: 60 } },
} as const;

const OPTION_KEYS = new Set<string>([
  'user',
  'secret',
  'tokenPrefix',
  'defaultExpiresIn',
  'maxExpiresIn',
  'allowQueryParameter',
  'queryParameter',
  'foreignCredentials',
  'realm',
  'lastUsedInterval',
  'clock',
  'revokeOn',
  'shouldRevoke',
  'idleExpiresIn',
  'retention',
  'maintenanceInterval',
  'prune',
  'expiringNotice',
  'maxTokensPerUser',
  'sessionAccessTtl',
  'sessionRefreshTtl',
  'cache',
  'passwordGrant',
]);
const USER_KEYS = new Set<string>([
  'entity',
  'idField',
  'usernameField',
  'passwordHashField',
  'blockedField',
  'permissions',
]);
/** RFC 6750 §3: what a quoted `realm` may hold. */
const REALM_PATTERN = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

function fail(message: string): never {
  throw new InvalidOptionsError(message);
}

/** What `forRoot()` takes beside the options read here (`AccessTokensModuleExtras`): named in the list of known ones. */
const EXTRA_KEYS = ['isGlobal', 'exceptionFilter', 'routes'];

function unknownKeys(given: object, known: Set<string>, where: string, extras: readonly string[] = []): void {
  const extra = Object.keys(given).filter((key) => !known.has(key));
  if (extra.length > 0)
    fail(`unknown option ${extra.map((k) => `${where}${k}`).join(', ')}; known: ${[...known, ...extras].join(', ')}`);
}

function field(value: unknown, name: string, fallback: string): string;
function field(value: unknown, name: string, fallback: string, nullable: true): string | null;
function field(value: unknown, name: string, fallback: string, nullable = false): string | null {
  if (value === undefined) return fallback;
  if (value === null && nullable) return null;
  if (typeof value === 'string' && value.length > 0) return value;
  return fail(`user.${name} must be a property name of the user entity${nullable ? ', or null' : ''}`);
}

function seconds(
  value: unknown,
  name: string,
  fallback: number | null,
  nullable: boolean,
  unit = 'seconds',
): number | null {
  if (value === undefined) return fallback;
  if (value === null && nullable) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  return fail(`${name} must be a positive whole number of ${unit}${nullable ? ', or null' : ''}`);
}

/**
 * Checks the options and applies the defaults. Throws `InvalidOptionsError` saying what to change,
 * so that a broken configuration stops the app at start-up.
 */
export function resolveAccessTokensOptions(options: AccessTokensModuleOptions): ResolvedAccessTokensOptions {
  if (typeof options !== 'object' || options === null) fail('forRoot() needs an options object');
  unknownKeys(options, OPTION_KEYS, '', EXTRA_KEYS);
  const user: Partial<AccessTokensUserOptions> = options.user;
  if (typeof user !== 'object' || user === null || typeof user.entity !== 'function') {
    fail("user.entity must be the app's user entity class, e.g. forRoot({ user: { entity: User } })");
  }
  unknownKeys(user, USER_KEYS, 'user.');
  if (user.permissions !== undefined && typeof user.permissions !== 'function') {
    fail('user.permissions must be a function (user) => string[]');
  }
  const defaults = ACCESS_TOKENS_DEFAULTS;
  const tokenPrefix = options.tokenPrefix ?? defaults.tokenPrefix;
  if (!TOKEN_PREFIX_PATTERN.test(tokenPrefix) || tokenPrefix.length > MAX_TOKEN_PREFIX_LENGTH) {
    fail(
      `tokenPrefix ${JSON.stringify(tokenPrefix)} must be lower-case letters and digits in "_"-separated words, starting with a letter, at most ${MAX_TOKEN_PREFIX_LENGTH} characters`,
    );
  }
  const maxExpiresIn = seconds(options.maxExpiresIn, 'maxExpiresIn', defaults.maxExpiresIn, true);
  const defaultExpiresIn = seconds(options.defaultExpiresIn, 'defaultExpiresIn', defaults.defaultExpiresIn, true);
  if (maxExpiresIn !== null && (defaultExpiresIn === null || defaultExpiresIn > maxExpiresIn)) {
    fail(
      `defaultExpiresIn (${String(defaultExpiresIn)}) must not exceed maxExpiresIn (${maxExpiresIn}): lower it, or raise maxExpiresIn (null for no limit)`,
    );
  }
  const realm = options.realm ?? defaults.realm;
  if (typeof realm !== 'string' || !REALM_PATTERN.test(realm)) {
    fail('realm must be a non-empty string of printable ASCII without " or \\');
  }
  const lastUsedInterval = options.lastUsedInterval ?? defaults.lastUsedInterval;
  if (typeof lastUsedInterval !== 'number' || !(lastUsedInterval >= 0)) {
    fail('lastUsedInterval must be a number of seconds, 0 or more');
  }
  const clock = options.clock ?? systemClock;
  if (typeof clock?.now !== 'function') fail('clock must have a now(): Date method');
  if (options.allowQueryParameter !== undefined && typeof options.allowQueryParameter !== 'boolean') {
    fail('allowQueryParameter must be true or false');
  }
  const queryParameter = options.queryParameter ?? defaults.queryParameter;
  if (typeof queryParameter !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(queryParameter)) {
    fail('queryParameter must be 1 to 64 letters, digits, "_", "." or "-", e.g. "access_token" or "jwt"');
  }
  const foreignCredentials = options.foreignCredentials ?? defaults.foreignCredentials;
  if (foreignCredentials !== 'refuse' && foreignCredentials !== 'pass') {
    fail(
      'foreignCredentials must be "refuse" or "pass" (let tokens that are not this module\'s through to the next guard)',
    );
  }
  if (
    options.revokeOn !== undefined &&
    (!Array.isArray(options.revokeOn) || options.revokeOn.some((f) => typeof f !== 'string' || f === ''))
  ) {
    fail('revokeOn must be a list of user property names');
  }
  if (options.shouldRevoke !== undefined && typeof options.shouldRevoke !== 'function') {
    fail('shouldRevoke must be a function (before, after) => string | false');
  }
  const resolvedUser = {
    entity: user.entity as Type<object>,
    idField: field(user.idField, 'idField', defaults.user.idField),
    usernameField: field(user.usernameField, 'usernameField', defaults.user.usernameField),
    passwordHashField: field(user.passwordHashField, 'passwordHashField', defaults.user.passwordHashField, true),
    blockedField: field(user.blockedField, 'blockedField', defaults.user.blockedField, true),
    permissions: user.permissions ? user.permissions.bind(user) : null,
  };
  const idleExpiresIn = seconds(options.idleExpiresIn, 'idleExpiresIn', defaults.idleExpiresIn, true);
  if (idleExpiresIn !== null && idleExpiresIn < 2 * lastUsedInterval) {
    // Uses are recorded once per lastUsedInterval: a shorter idle timeout would expire tokens in use.
    fail(`idleExpiresIn (${idleExpiresIn}) must be at least twice lastUsedInterval (${lastUsedInterval})`);
  }
  const expiringNotice =
    options.expiringNotice === false
      ? false
      : seconds(options.expiringNotice, 'expiringNotice', defaults.expiringNotice, false)!;
  if (options.prune !== undefined && typeof options.prune !== 'boolean') fail('prune must be true or false');
  const cache = resolveCache(options.cache);
  const revokeOn = options.revokeOn ?? [
    resolvedUser.usernameField,
    resolvedUser.passwordHashField,
    resolvedUser.blockedField,
  ];
  return {
    user: resolvedUser,
    tokenPrefix,
    defaultExpiresIn,
    maxExpiresIn,
    allowQueryParameter: options.allowQueryParameter ?? defaults.allowQueryParameter,
    queryParameter,
    foreignCredentials,
    realm,
    lastUsedInterval,
    clock,
    revokeOn: [...new Set(revokeOn.filter((f): f is string => f !== null))],
    shouldRevoke: options.shouldRevoke ? options.shouldRevoke.bind(options) : null,
    keys: resolveSecret(options.secret),
    idleExpiresIn,
    retention: seconds(options.retention, 'retention', defaults.retention, false)!,
    maintenanceInterval: seconds(
      options.maintenanceInterval,
      'maintenanceInterval',
      defaults.maintenanceInterval,
      false,
    )!,
    prune: options.prune ?? defaults.prune,
    expiringNotice,
    maxTokensPerUser: seconds(options.maxTokensPerUser, 'maxTokensPerUser', defaults.maxTokensPerUser, true, 'tokens'),
    sessionAccessTtl: seconds(options.sessionAccessTtl, 'sessionAccessTtl', defaults.sessionAccessTtl, false)!,
    sessionRefreshTtl: seconds(options.sessionRefreshTtl, 'sessionRefreshTtl', defaults.sessionRefreshTtl, false)!,
    sessionAccessPrefix: `${tokenPrefix}_s`,
    refreshPrefix: `${tokenPrefix}_r`,
    cache,
    passwordGrant: resolvePasswordGrant(options.passwordGrant),
  };
}

/**
 * The keys of `secret`, once it is checked: start-up stops, saying how to make one, when it is
 * missing, short or a placeholder. The messages never quote it.
 */
function resolveSecret(secret: unknown): SigningKeys {
  const secrets: unknown[] = Array.isArray(secret) ? secret : [secret];
  if (secrets.length === 0)
    fail(`secret must be a string, or a list of them with the current one first; ${SECRET_ADVICE}`);
  for (const [index, value] of secrets.entries()) {
    const problem = secretProblem(value);
    if (problem) fail(`secret${secrets.length > 1 ? ` #${index + 1}` : ''} ${problem}: ${SECRET_ADVICE}`);
  }
  return signingKeys(secrets as string[]);
}

/** The client of a request by default: its address, as the HTTP server reads it (Express's and Fastify's `ip`). */
function clientAddress(request: AuthenticatableRequest): string | undefined {
  const ip = (request as { ip?: unknown }).ip;
  return typeof ip === 'string' && ip !== '' ? ip : undefined;
}

function resolvePasswordGrant(grant: PasswordGrantOptions | undefined): ResolvedAccessTokensOptions['passwordGrant'] {
  if (grant !== undefined && (typeof grant !== 'object' || grant === null)) fail('passwordGrant must be { throttle? }');
  const given = grant ?? {};
  unknownKeys(given, new Set(['throttle']), 'passwordGrant.');
  if (given.throttle === false) return { throttle: null };
  if (given.throttle !== undefined && (typeof given.throttle !== 'object' || given.throttle === null)) {
    fail('passwordGrant.throttle must be false or { perAccount?, perClient?, window?, store?, clientKey? }');
  }
  const throttle = given.throttle ?? {};
  unknownKeys(
    throttle,
    new Set(['perAccount', 'perClient', 'window', 'store', 'clientKey']),
    'passwordGrant.throttle.',
  );
  if (
    throttle.store !== undefined &&
    typeof (throttle.store as Partial<PasswordAttemptStore> | null)?.increment !== 'function'
  ) {
    fail(
      'passwordGrant.throttle.store must have increment(key, ttl, limit, blockDuration, name), as a @nestjs/throttler ThrottlerStorage does',
    );
  }
  if (throttle.clientKey !== undefined && typeof throttle.clientKey !== 'function') {
    fail('passwordGrant.throttle.clientKey must be a function (request) => string | undefined');
  }
  const defaults = ACCESS_TOKENS_DEFAULTS.passwordGrant.throttle;
  return {
    throttle: {
      perAccount: seconds(
        throttle.perAccount,
        'passwordGrant.throttle.perAccount',
        defaults.perAccount,
        false,
        'attempts',
      )!,
      perClient: seconds(
        throttle.perClient,
        'passwordGrant.throttle.perClient',
        defaults.perClient,
        false,
        'attempts',
      )!,
      window: seconds(throttle.window, 'passwordGrant.throttle.window', defaults.window, false)!,
      store: throttle.store ?? null,
      clientKey: throttle.clientKey ? throttle.clientKey.bind(throttle) : clientAddress,
    },
  };
}

function resolveCache(cache: CacheOptions | false | undefined): ResolvedAccessTokensOptions['cache'] {
  if (cache === false) return null;
  if (cache !== undefined && (typeof cache !== 'object' || cache === null))
    fail('cache must be false or { max?, ttl?, busTtl?, bus? }');
  const given = cache ?? {};
  unknownKeys(given, new Set(['max', 'ttl', 'busTtl', 'bus']), 'cache.');
  const defaults = ACCESS_TOKENS_DEFAULTS;
  const bus = given.bus ?? null;
  if (bus !== null) {
    if (bus.type === 'redis') {
      if (typeof bus.url !== 'string' || !/^rediss?:\/\//.test(bus.url)) fail('cache.bus.url must be a redis:// URL');
    } else if (bus.type !== 'postgres') {
      fail('cache.bus.type must be "redis" or "postgres"');
    }
    if (bus.channel !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(bus.channel)) {
      fail('cache.bus.channel must be lower-case letters, digits and "_", starting with a letter or "_"');
    }
  }
  const ttl = seconds(given.ttl, 'cache.ttl', defaults.cache.ttl, false)!;
  const busTtl = seconds(given.busTtl, 'cache.busTtl', Math.max(ttl, defaults.cache.busTtl), false)!;
  if (busTtl < ttl)
    fail(
      `cache.busTtl (${busTtl}) must be at least cache.ttl (${ttl}): the bus only makes a verification safer to keep`,
    );
  return {
    max: seconds(given.max, 'cache.max', defaults.cache.max, false, 'entries')!,
    ttl,
    busTtl,
    bus: bus && { ...bus, channel: bus.channel ?? defaults.busChannel },
  };
}
