import type { Type } from '@nestjs/common';
import type {
  AccessTokensModuleOptions,
  AccessTokensTeamOptions,
  AccessTokensUserOptions,
  CacheOptions,
  CredentialOptions,
  EventOptions,
  MaintenanceOptions,
  PasswordOptions,
  PasswordThrottleOptions,
  ResolvedAccessTokensOptions,
  ResolvedCacheOptions,
  ResolvedCredentialOptions,
  ResolvedEventOptions,
  ResolvedMaintenanceOptions,
  ResolvedPasswordOptions,
  ResolvedRevocationOptions,
  ResolvedSessionOptions,
  ResolvedTeamOptions,
  ResolvedTokenOptions,
  ResolvedUserOptions,
  RevocationOptions,
  SessionOptions,
  TokenOptions,
  ResolvedUsageOptions,
  UsageOptions,
  TelemetryOptions,
} from '../access-tokens-options.interface.js';
import type { AuthenticatableRequest } from '../access-tokens.interfaces.js';
import { InvalidOptionsError } from '../core/access-tokens.errors.js';
import { systemClock } from '../core/clock.js';
import { SECRET_ADVICE, secretProblem, signingKeys, type SigningKeys } from '../core/keys.js';
import { MAX_TOKEN_PREFIX_LENGTH, TOKEN_PREFIX_PATTERN } from '../core/token-format.js';
import type { PasswordAttemptStore } from '../password/password-attempts.js';
import { AccessTokensError } from '../core/access-tokens.errors.js';
import { checkPolicy, NO_POLICY } from '../usage/usage-policy.js';
import { ACCESS_TOKENS_DEFAULTS } from './defaults.js';

/*
 * The checks of `forRoot()`'s options, and the defaults applied: pure, so that each message is
 * tested without booting Nest (resolve-options.spec.ts). The services read
 * `ResolvedAccessTokensOptions`: the same groups and names, every default applied.
 */

/** The known keys of each group, in the order the unknown-option error lists them. */
const KNOWN = {
  '': [
    'user',
    'secret',
    'tokens',
    'credentials',
    'revocation',
    'sessions',
    'maintenance',
    'cache',
    'passwords',
    'usage',
    'events',
    'teams',
    'clock',
    'telemetry',
  ],
  user: ['entity', 'idField', 'usernameField', 'passwordHashField', 'blockedField', 'permissions'],
  teams: ['entity', 'idField', 'nameField', 'blockedField', 'permissions', 'revocation'],
  'teams.revocation': ['on'],
  tokens: [
    'prefix',
    'lifetimeSeconds',
    'maxLifetimeSeconds',
    'idleTimeoutSeconds',
    'maxPerUser',
    'lastUsedIntervalSeconds',
    'unusedScopeSeconds',
  ],
  credentials: ['queryParameter', 'foreign', 'realm'],
  revocation: ['on', 'shouldRevoke'],
  sessions: ['accessLifetimeSeconds', 'refreshLifetimeSeconds'],
  maintenance: ['intervalSeconds', 'prune', 'retentionSeconds', 'expiringNoticeSeconds'],
  cache: ['max', 'ttlSeconds', 'busTtlSeconds', 'bus'],
  passwords: ['throttle'],
  'passwords.throttle': ['perAccount', 'perClient', 'windowSeconds', 'store', 'clientKey'],
  usage: ['defaults', 'counters'],
  'usage.defaults': ['rateLimit', 'maxUses', 'usesPeriod', 'allowedIps'],
  events: ['eventEmitter'],
  telemetry: ['meterProvider', 'tracerProvider'],
} as const satisfies Record<string, readonly string[]>;

/** What `forRoot()` takes beside the options read here (`AccessTokensModuleExtras`): named in the list of known ones. */
const EXTRA_KEYS = ['isGlobal', 'exceptionFilter', 'routes'];
/** RFC 6750 §3: what a quoted `realm` may hold. */
const REALM_PATTERN = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;
const QUERY_PARAMETER_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

function fail(message: string): never {
  throw new InvalidOptionsError(message);
}

/**
 * The group at `path` of the options, `{}` when left out: an object whose keys are all known, or
 * start-up stops naming the unknown key and the known ones. An old top-level name (`tokenPrefix`)
 * lands here too: it is unknown, and the list shows where its group is.
 */
function group<T extends object>(value: T | undefined, path: keyof typeof KNOWN): Partial<T> {
  if (value === undefined) return {};
  const known: readonly string[] = KNOWN[path];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail(`${path} must be an object: { ${known.join('?, ')}? }`);
  }
  const unknown = Object.keys(value).filter((key) => !known.includes(key));
  if (unknown.length > 0) {
    const where = path === '' ? '' : `${path}.`;
    const listed = path === '' ? [...known, ...EXTRA_KEYS] : known;
    fail(`unknown option ${unknown.map((key) => where + key).join(', ')}; known: ${listed.join(', ')}`);
  }
  return value;
}

function field(value: unknown, name: string, fallback: string): string;
function field(value: unknown, name: string, fallback: string, nullable: true, of?: 'user' | 'team'): string | null;
function field(
  value: unknown,
  name: string,
  fallback: string,
  nullable = false,
  of: 'user' | 'team' = 'user',
): string | null {
  if (value === undefined) return fallback;
  if (value === null && nullable) return null;
  if (typeof value === 'string' && value.length > 0) return value;
  const group = of === 'user' ? 'user' : 'teams';
  return fail(`${group}.${name} must be a property name of the ${of} entity${nullable ? ', or null' : ''}`);
}

/** A count or a duration: a positive whole number (of `unit`), the fallback when left out. */
function whole(value: unknown, path: string, fallback: number, unit?: string): number;
function whole(
  value: unknown,
  path: string,
  fallback: number | null,
  unit: string | undefined,
  nullable: true,
): number | null;
function whole(
  value: unknown,
  path: string,
  fallback: number | null,
  unit = 'seconds',
  nullable = false,
): number | null {
  if (value === undefined) return fallback;
  if (value === null && nullable) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return value;
  return fail(`${path} must be a positive whole number of ${unit}${nullable ? ', or null' : ''}`);
}

function boolean(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  return fail(`${path} must be true or false`);
}

/**
 * Checks the options and applies the defaults. Throws `InvalidOptionsError` saying what to change,
 * so that a broken configuration stops the app at start-up.
 */
export function resolveAccessTokensOptions(options: AccessTokensModuleOptions): ResolvedAccessTokensOptions {
  if (typeof options !== 'object' || options === null) fail('forRoot() needs an options object');
  group(options, '');
  // In this order, which decides the message when several options are wrong.
  const user = resolveUser(options.user);
  const teams = resolveTeams(options.teams, user);
  const tokens = resolveTokens(options.tokens);
  const sessions = group(options.sessions, 'sessions');
  const clock = options.clock ?? systemClock;
  if (typeof clock?.now !== 'function') fail('clock must have a now(): Date method');
  const credentials = resolveCredentials(options.credentials);
  const revocation = resolveRevocation(options.revocation, user);
  const keys = resolveSecret(options.secret);
  const maintenance = resolveMaintenance(options.maintenance);
  const cache = resolveCache(options.cache);
  return {
    user,
    teams,
    tokens,
    credentials,
    revocation,
    sessions: resolveSessions(sessions),
    maintenance,
    cache,
    passwords: resolvePasswords(options.passwords),
    usage: resolveUsage(options.usage, cache),
    events: resolveEvents(options.events),
    clock,
    telemetry: resolveTelemetry(options.telemetry),
    keys,
  };
}

function resolveTelemetry(given: TelemetryOptions | false | undefined): TelemetryOptions | null {
  if (given === false) return null;
  const telemetry = group(given, 'telemetry');
  if (telemetry.meterProvider !== undefined && typeof telemetry.meterProvider?.getMeter !== 'function') {
    fail('telemetry.meterProvider must be an OpenTelemetry MeterProvider (with getMeter()), or left out');
  }
  if (telemetry.tracerProvider !== undefined && typeof telemetry.tracerProvider?.getTracer !== 'function') {
    fail('telemetry.tracerProvider must be an OpenTelemetry TracerProvider (with getTracer()), or left out');
  }
  return { meterProvider: telemetry.meterProvider, tracerProvider: telemetry.tracerProvider };
}

function resolveUser(given: AccessTokensUserOptions | undefined): ResolvedUserOptions {
  if (typeof given !== 'object' || given === null || typeof given.entity !== 'function') {
    fail("user.entity must be the app's user entity class, e.g. forRoot({ user: { entity: User } })");
  }
  const user = group(given, 'user');
  if (user.permissions !== undefined && typeof user.permissions !== 'function') {
    fail('user.permissions must be a function (user) => string[]');
  }
  const defaults = ACCESS_TOKENS_DEFAULTS.user;
  return {
    entity: user.entity as Type<object>,
    idField: field(user.idField, 'idField', defaults.idField),
    usernameField: field(user.usernameField, 'usernameField', defaults.usernameField),
    passwordHashField: field(user.passwordHashField, 'passwordHashField', defaults.passwordHashField, true),
    blockedField: field(user.blockedField, 'blockedField', defaults.blockedField, true),
    permissions: user.permissions ? user.permissions.bind(user) : null,
  };
}

function resolveTeams(
  given: AccessTokensTeamOptions | undefined,
  user: ResolvedUserOptions,
): ResolvedTeamOptions | null {
  if (given === undefined) return null;
  if (typeof given !== 'object' || given === null || typeof given.entity !== 'function') {
    fail("teams.entity must be the app's team entity class, e.g. forRoot({ teams: { entity: Team } })");
  }
  const teams = group(given, 'teams');
  if (teams.entity === user.entity) fail('teams.entity must be another entity than user.entity');
  if (teams.permissions !== undefined && typeof teams.permissions !== 'function') {
    fail('teams.permissions must be a function (team) => string[]');
  }
  const revocation = group(teams.revocation, 'teams.revocation');
  if (
    revocation.on !== undefined &&
    (!Array.isArray(revocation.on) || revocation.on.some((name) => typeof name !== 'string' || name === ''))
  ) {
    fail('teams.revocation.on must be a list of team property names');
  }
  const defaults = ACCESS_TOKENS_DEFAULTS.teams;
  const nameField = field(teams.nameField, 'nameField', defaults.nameField, true, 'team');
  if (nameField === null) fail('teams.nameField must be a property name of the team entity');
  const blockedField = field(teams.blockedField, 'blockedField', defaults.blockedField, true, 'team');
  const on = revocation.on ?? [nameField, blockedField];
  return {
    entity: teams.entity as Type<object>,
    idField: field(teams.idField, 'idField', defaults.idField, true, 'team') ?? fail('teams.idField must not be null'),
    nameField,
    blockedField,
    permissions: teams.permissions ? teams.permissions.bind(teams) : null,
    revokeOn: [...new Set(on.filter((name): name is string => name !== null))],
  };
}

function resolveTokens(given: TokenOptions | undefined): ResolvedTokenOptions {
  const tokens = group(given, 'tokens');
  const defaults = ACCESS_TOKENS_DEFAULTS.tokens;
  const prefix = tokens.prefix ?? defaults.prefix;
  if (typeof prefix !== 'string' || !TOKEN_PREFIX_PATTERN.test(prefix) || prefix.length > MAX_TOKEN_PREFIX_LENGTH) {
    fail(
      `tokens.prefix ${JSON.stringify(prefix)} must be lower-case letters and digits in "_"-separated words, starting with a letter, at most ${MAX_TOKEN_PREFIX_LENGTH} characters`,
    );
  }
  const max = whole(
    tokens.maxLifetimeSeconds,
    'tokens.maxLifetimeSeconds',
    defaults.maxLifetimeSeconds,
    undefined,
    true,
  );
  const lifetime = whole(tokens.lifetimeSeconds, 'tokens.lifetimeSeconds', defaults.lifetimeSeconds, undefined, true);
  if (max !== null && (lifetime === null || lifetime > max)) {
    fail(
      `tokens.lifetimeSeconds (${String(lifetime)}) must not exceed tokens.maxLifetimeSeconds (${max}): lower it, or raise tokens.maxLifetimeSeconds (null for no limit)`,
    );
  }
  // 0 is allowed here, unlike the other durations: it records every use.
  const lastUsedInterval = tokens.lastUsedIntervalSeconds ?? defaults.lastUsedIntervalSeconds;
  if (typeof lastUsedInterval !== 'number' || !Number.isSafeInteger(lastUsedInterval) || lastUsedInterval < 0) {
    fail('tokens.lastUsedIntervalSeconds must be a whole number of seconds, 0 or more');
  }
  const idle = whole(
    tokens.idleTimeoutSeconds,
    'tokens.idleTimeoutSeconds',
    defaults.idleTimeoutSeconds,
    undefined,
    true,
  );
  if (idle !== null && idle < 2 * lastUsedInterval) {
    // Uses are recorded once per interval: a shorter idle timeout would expire tokens in use.
    fail(
      `tokens.idleTimeoutSeconds (${idle}) must be at least twice tokens.lastUsedIntervalSeconds (${lastUsedInterval})`,
    );
  }
  const unusedScope = whole(tokens.unusedScopeSeconds, 'tokens.unusedScopeSeconds', defaults.unusedScopeSeconds);
  if (unusedScope < lastUsedInterval) {
    // A scope in use is recorded once per interval: a shorter window would call it unused.
    fail(
      `tokens.unusedScopeSeconds (${unusedScope}) must be at least tokens.lastUsedIntervalSeconds (${lastUsedInterval})`,
    );
  }
  return {
    prefix,
    lifetimeSeconds: lifetime,
    maxLifetimeSeconds: max,
    idleTimeoutSeconds: idle,
    maxPerUser: whole(tokens.maxPerUser, 'tokens.maxPerUser', defaults.maxPerUser, 'tokens', true),
    lastUsedIntervalSeconds: lastUsedInterval,
    unusedScopeSeconds: unusedScope,
    sessionPrefix: `${prefix}_s`,
    refreshPrefix: `${prefix}_r`,
  };
}

function resolveCredentials(given: CredentialOptions | undefined): ResolvedCredentialOptions {
  const credentials = group(given, 'credentials');
  const defaults = ACCESS_TOKENS_DEFAULTS.credentials;
  const queryParameter = credentials.queryParameter ?? defaults.queryParameter;
  if (
    queryParameter !== false &&
    (typeof queryParameter !== 'string' || !QUERY_PARAMETER_PATTERN.test(queryParameter))
  ) {
    fail(
      'credentials.queryParameter must be false, or the name of the query parameter: 1 to 64 letters, digits, "_", "." or "-", e.g. "access_token" or "jwt"',
    );
  }
  const foreign = credentials.foreign ?? defaults.foreign;
  if (foreign !== 'refuse' && foreign !== 'pass') {
    fail(
      'credentials.foreign must be "refuse" or "pass" (let tokens that are not this module\'s through to the next guard)',
    );
  }
  const realm = credentials.realm ?? defaults.realm;
  if (typeof realm !== 'string' || !REALM_PATTERN.test(realm)) {
    fail('credentials.realm must be a non-empty string of printable ASCII without " or \\');
  }
  return { queryParameter, foreign, realm };
}

function resolveRevocation(given: RevocationOptions | undefined, user: ResolvedUserOptions): ResolvedRevocationOptions {
  const revocation = group(given, 'revocation');
  if (
    revocation.on !== undefined &&
    (!Array.isArray(revocation.on) || revocation.on.some((name) => typeof name !== 'string' || name === ''))
  ) {
    fail('revocation.on must be a list of user property names');
  }
  if (revocation.shouldRevoke !== undefined && typeof revocation.shouldRevoke !== 'function') {
    fail('revocation.shouldRevoke must be a function (before, after) => string | false');
  }
  const on = revocation.on ?? [user.usernameField, user.passwordHashField, user.blockedField];
  return {
    on: [...new Set(on.filter((name): name is string => name !== null))],
    shouldRevoke: revocation.shouldRevoke ? revocation.shouldRevoke.bind(revocation) : null,
  };
}

/** `sessions`, once `group()` has checked its keys. */
function resolveSessions(sessions: Partial<SessionOptions>): ResolvedSessionOptions {
  const defaults = ACCESS_TOKENS_DEFAULTS.sessions;
  return {
    accessLifetimeSeconds: whole(
      sessions.accessLifetimeSeconds,
      'sessions.accessLifetimeSeconds',
      defaults.accessLifetimeSeconds,
    ),
    refreshLifetimeSeconds: whole(
      sessions.refreshLifetimeSeconds,
      'sessions.refreshLifetimeSeconds',
      defaults.refreshLifetimeSeconds,
    ),
  };
}

function resolveMaintenance(given: MaintenanceOptions | undefined): ResolvedMaintenanceOptions {
  const maintenance = group(given, 'maintenance');
  const defaults = ACCESS_TOKENS_DEFAULTS.maintenance;
  return {
    intervalSeconds: whole(maintenance.intervalSeconds, 'maintenance.intervalSeconds', defaults.intervalSeconds),
    prune: boolean(maintenance.prune, 'maintenance.prune', defaults.prune),
    retentionSeconds: whole(maintenance.retentionSeconds, 'maintenance.retentionSeconds', defaults.retentionSeconds),
    expiringNoticeSeconds:
      maintenance.expiringNoticeSeconds === false
        ? false
        : whole(
            maintenance.expiringNoticeSeconds,
            'maintenance.expiringNoticeSeconds',
            defaults.expiringNoticeSeconds,
            'seconds, or false',
          ),
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

function resolveCache(given: CacheOptions | false | undefined): ResolvedCacheOptions | null {
  if (given === false) return null;
  if (given !== undefined && (typeof given !== 'object' || given === null)) {
    fail('cache must be false or { max?, ttlSeconds?, busTtlSeconds?, bus? }');
  }
  const cache = group(given, 'cache');
  const defaults = ACCESS_TOKENS_DEFAULTS.cache;
  const bus = cache.bus ?? null;
  if (bus !== null) {
    if (typeof bus !== 'object') fail('cache.bus must be { type: "redis", url } or { type: "postgres" }');
    if (bus.type === 'redis') {
      if (typeof bus.url !== 'string' || !/^rediss?:\/\//.test(bus.url)) fail('cache.bus.url must be a redis:// URL');
    } else if (bus.type !== 'postgres') {
      fail('cache.bus.type must be "redis" or "postgres"');
    }
    if (bus.channel !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(bus.channel)) {
      fail('cache.bus.channel must be lower-case letters, digits and "_", starting with a letter or "_"');
    }
  }
  const ttl = whole(cache.ttlSeconds, 'cache.ttlSeconds', defaults.ttlSeconds);
  // Left out, the bus's lifetime is at least the one given without it.
  const busTtl = whole(cache.busTtlSeconds, 'cache.busTtlSeconds', Math.max(ttl, defaults.busTtlSeconds));
  if (busTtl < ttl) {
    fail(
      `cache.busTtlSeconds (${busTtl}) must be at least cache.ttlSeconds (${ttl}): the bus only makes a verification safer to keep`,
    );
  }
  return {
    max: whole(cache.max, 'cache.max', defaults.max, 'entries'),
    ttlSeconds: ttl,
    busTtlSeconds: busTtl,
    bus: bus && { ...bus, channel: bus.channel ?? defaults.bus.channel },
  };
}

/** The client of a request by default: its address, as the HTTP server reads it (Express's and Fastify's `ip`). */
function clientAddress(request: AuthenticatableRequest): string | undefined {
  const ip = (request as { ip?: unknown }).ip;
  return typeof ip === 'string' && ip !== '' ? ip : undefined;
}

function resolvePasswords(given: PasswordOptions | undefined): ResolvedPasswordOptions {
  const passwords = group(given, 'passwords');
  if (passwords.throttle === false) return { throttle: null };
  if (passwords.throttle !== undefined && (typeof passwords.throttle !== 'object' || passwords.throttle === null)) {
    fail('passwords.throttle must be false or { perAccount?, perClient?, windowSeconds?, store?, clientKey? }');
  }
  const throttle = group<PasswordThrottleOptions>(passwords.throttle, 'passwords.throttle');
  if (
    throttle.store !== undefined &&
    typeof (throttle.store as Partial<PasswordAttemptStore> | null)?.increment !== 'function'
  ) {
    fail(
      'passwords.throttle.store must have increment(key, ttl, limit, blockDuration, name), as a @nestjs/throttler ThrottlerStorage does',
    );
  }
  if (throttle.clientKey !== undefined && typeof throttle.clientKey !== 'function') {
    fail('passwords.throttle.clientKey must be a function (request) => string | undefined');
  }
  const defaults = ACCESS_TOKENS_DEFAULTS.passwords.throttle;
  return {
    throttle: {
      perAccount: whole(throttle.perAccount, 'passwords.throttle.perAccount', defaults.perAccount, 'attempts'),
      perClient: whole(throttle.perClient, 'passwords.throttle.perClient', defaults.perClient, 'attempts'),
      windowSeconds: whole(throttle.windowSeconds, 'passwords.throttle.windowSeconds', defaults.windowSeconds),
      store: throttle.store ?? null,
      clientKey: throttle.clientKey ? throttle.clientKey.bind(throttle) : clientAddress,
    },
  };
}

/** Where rate limits are counted when `usage.counters` is left out: in the Redis of the bus, if it is one. */
const REDIS_KEY_PREFIX = 'access-tokens:rate:';

function resolveUsage(given: UsageOptions | undefined, cache: ResolvedCacheOptions | null): ResolvedUsageOptions {
  const usage = group(given, 'usage');
  let defaults = NO_POLICY;
  if (usage.defaults !== undefined) {
    try {
      defaults = checkPolicy(group(usage.defaults, 'usage.defaults'), NO_POLICY);
    } catch (error) {
      if (error instanceof InvalidOptionsError || !(error instanceof AccessTokensError)) throw error;
      fail(`usage.defaults: ${error.message}`);
    }
  }
  const { counters } = usage;
  if (counters === undefined) {
    const bus = cache?.bus;
    return {
      defaults,
      counters:
        bus?.type === 'redis'
          ? { type: 'redis', url: bus.url, keyPrefix: REDIS_KEY_PREFIX, option: 'cache.bus' }
          : { type: 'memory' },
    };
  }
  if (counters === 'memory') return { defaults, counters: { type: 'memory' } };
  if (
    typeof counters !== 'object' ||
    counters === null ||
    counters.type !== 'redis' ||
    typeof counters.url !== 'string' ||
    !/^rediss?:\/\//.test(counters.url)
  ) {
    fail('usage.counters must be "memory" or { type: "redis", url: "redis://…", keyPrefix? }');
  }
  if (counters.keyPrefix !== undefined && (typeof counters.keyPrefix !== 'string' || counters.keyPrefix.length > 100)) {
    fail('usage.counters.keyPrefix must be a string of at most 100 characters');
  }
  return {
    defaults,
    counters: {
      type: 'redis',
      url: counters.url,
      keyPrefix: counters.keyPrefix ?? REDIS_KEY_PREFIX,
      option: 'usage.counters',
    },
  };
}

function resolveEvents(given: EventOptions | undefined): ResolvedEventOptions {
  const events = group(given, 'events');
  const defaults = ACCESS_TOKENS_DEFAULTS.events;
  return { eventEmitter: boolean(events.eventEmitter, 'events.eventEmitter', defaults.eventEmitter) };
}
