import { describe, expect, it } from '@jest/globals';
import type { AccessTokensModuleOptions } from '../access-tokens-options.interface.js';
import { InvalidOptionsError } from '../core/access-tokens.errors.js';
import { systemClock } from '../core/clock.js';
import { ACCESS_TOKENS_DEFAULTS } from './defaults.js';
import { resolveAccessTokensOptions } from './resolve-options.js';

class User {}
/** Random once, for this spec only. */
const SECRET = 'NkgUfGaSX5SpcmKLTdD3Rm8MVqkmHi0ZGHL0i5Lpfcs';
const DAY = 24 * 60 * 60;
const base: AccessTokensModuleOptions = { user: { entity: User }, secret: SECRET };

/** The options resolved from `base` with `extra` over it; `extra` is untyped, as a JavaScript caller's would be. */
const resolve = (extra: object) => resolveAccessTokensOptions({ ...base, ...extra } as AccessTokensModuleOptions);

/** What resolving `extra` throws: an `InvalidOptionsError`, whose message is returned. */
function refusal(extra: object): string {
  try {
    resolve(extra);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return (error as Error).message;
  }
  throw new Error(`resolved ${JSON.stringify(extra)} without complaint`);
}

describe('resolveAccessTokensOptions', () => {
  it('applies the defaults, in the groups and names of the options', () => {
    const resolved = resolveAccessTokensOptions(base);
    expect(resolved).toMatchObject({
      user: {
        entity: User,
        idField: 'id',
        usernameField: 'username',
        passwordHashField: 'passwordHash',
        blockedField: 'blocked',
        permissions: null,
      },
      tokens: {
        prefix: 'nat',
        lifetimeSeconds: 30 * DAY,
        maxLifetimeSeconds: 365 * DAY,
        idleTimeoutSeconds: null,
        maxPerUser: 100,
        lastUsedIntervalSeconds: 60,
        unusedScopeSeconds: 90 * DAY,
        sessionPrefix: 'nat_s',
        refreshPrefix: 'nat_r',
      },
      credentials: { queryParameter: false, foreign: 'refuse', realm: 'api' },
      revocation: { on: ['username', 'passwordHash', 'blocked'], shouldRevoke: null },
      sessions: { accessLifetimeSeconds: 900, refreshLifetimeSeconds: 7 * DAY },
      maintenance: { intervalSeconds: 300, prune: true, retentionSeconds: 7 * DAY, expiringNoticeSeconds: 7 * DAY },
      cache: { max: 10_000, ttlSeconds: 10, busTtlSeconds: 300, bus: null },
      passwords: { throttle: { perAccount: 10, perClient: 30, windowSeconds: 60, store: null } },
      events: { eventEmitter: true },
    });
    expect(resolved.clock).toBe(systemClock);
    // The global meter and tracer providers, no-ops unless the app registers an SDK.
    expect(resolved.telemetry).toEqual({ meterProvider: undefined, tracerProvider: undefined });
    expect(resolved.keys.all).toHaveLength(1);
    // The secret itself is not kept, only the keys derived from it.
    expect(Object.keys(resolved)).not.toContain('secret');
  });

  it('keeps the groups of the options, and their names', () => {
    const resolved = resolveAccessTokensOptions(base);
    expect(Object.keys(resolved).sort()).toEqual(
      [
        'user',
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
        'keys',
      ].sort(),
    );
    // Each resolved group holds the names of its option group; `tokens` adds the derived prefixes.
    for (const name of ['tokens', 'credentials', 'sessions', 'maintenance'] as const) {
      const extra = name === 'tokens' ? ['sessionPrefix', 'refreshPrefix'] : [];
      expect(Object.keys(resolved[name]).sort()).toEqual(
        [...Object.keys(ACCESS_TOKENS_DEFAULTS[name]), ...extra].sort(),
      );
    }
  });

  it('states every default in ACCESS_TOKENS_DEFAULTS, in the shape of the options', () => {
    expect(ACCESS_TOKENS_DEFAULTS.tokens).toEqual({
      prefix: 'nat',
      lifetimeSeconds: 30 * DAY,
      maxLifetimeSeconds: 365 * DAY,
      idleTimeoutSeconds: null,
      maxPerUser: 100,
      lastUsedIntervalSeconds: 60,
      unusedScopeSeconds: 90 * DAY,
    });
    expect(ACCESS_TOKENS_DEFAULTS.credentials).toEqual({ queryParameter: false, foreign: 'refuse', realm: 'api' });
  });

  it('resolves every group as given', () => {
    const clientKey = () => 'client';
    const store = {
      increment: async () => ({ totalHits: 1, timeToExpire: 1, isBlocked: false, timeToBlockExpire: 0 }),
    };
    const shouldRevoke = () => 'role_changed';
    const resolved = resolve({
      user: { entity: User, usernameField: 'email', passwordHashField: null, blockedField: null },
      tokens: {
        prefix: 'acme_pat',
        lifetimeSeconds: 3600,
        maxLifetimeSeconds: 7200,
        idleTimeoutSeconds: 120,
        maxPerUser: 5,
        lastUsedIntervalSeconds: 30,
        unusedScopeSeconds: 30 * DAY,
      },
      credentials: { queryParameter: 'jwt', foreign: 'pass', realm: 'shop' },
      revocation: { on: ['email', 'role', 'email'], shouldRevoke },
      sessions: { accessLifetimeSeconds: 60, refreshLifetimeSeconds: 600 },
      maintenance: { intervalSeconds: 5, prune: false, retentionSeconds: 50, expiringNoticeSeconds: 40 },
      cache: { max: 5, ttlSeconds: 20, busTtlSeconds: 40, bus: { type: 'postgres' } },
      passwords: { throttle: { perAccount: 1, perClient: 2, windowSeconds: 3, store, clientKey } },
    });
    expect(resolved).toMatchObject({
      user: { usernameField: 'email', passwordHashField: null, blockedField: null },
      tokens: {
        prefix: 'acme_pat',
        lifetimeSeconds: 3600,
        maxLifetimeSeconds: 7200,
        idleTimeoutSeconds: 120,
        maxPerUser: 5,
        lastUsedIntervalSeconds: 30,
        unusedScopeSeconds: 30 * DAY,
        sessionPrefix: 'acme_pat_s',
        refreshPrefix: 'acme_pat_r',
      },
      credentials: { queryParameter: 'jwt', foreign: 'pass', realm: 'shop' },
      revocation: { on: ['email', 'role'] },
      sessions: { accessLifetimeSeconds: 60, refreshLifetimeSeconds: 600 },
      maintenance: { intervalSeconds: 5, prune: false, retentionSeconds: 50, expiringNoticeSeconds: 40 },
      cache: {
        max: 5,
        ttlSeconds: 20,
        busTtlSeconds: 40,
        bus: { type: 'postgres', channel: 'access_tokens_invalidation' },
      },
      passwords: { throttle: { perAccount: 1, perClient: 2, windowSeconds: 3, store } },
    });
    expect(resolved.revocation.shouldRevoke!({}, {})).toBe('role_changed');
    expect(resolved.passwords.throttle!.clientKey({ headers: {} })).toBe('client');
  });

  it('revokes on the user fields there are, by default', () => {
    expect(resolve({ user: { entity: User, passwordHashField: null } }).revocation.on).toEqual(['username', 'blocked']);
  });

  it("throttles passwords by default: 10 per account and 30 per client a minute, in memory, by the request's address", () => {
    const { throttle } = resolveAccessTokensOptions(base).passwords;
    expect(throttle).toMatchObject({ perAccount: 10, perClient: 30, windowSeconds: 60, store: null });
    expect(throttle!.clientKey({ headers: {}, ip: '10.1.2.3' } as never)).toBe('10.1.2.3');
    expect(throttle!.clientKey({ headers: {} })).toBeUndefined();
  });

  describe('takes false and null where they turn a thing off', () => {
    it('credentials.queryParameter: false (the default), no query parameter', () => {
      expect(resolve({ credentials: { queryParameter: false } }).credentials.queryParameter).toBe(false);
    });
    it('telemetry: false, no metrics and no spans', () => {
      expect(resolve({ telemetry: false }).telemetry).toBeNull();
    });
    it('cache: false, no cache', () => {
      expect(resolve({ cache: false }).cache).toBeNull();
    });
    it("events.eventEmitter: false, no events on the app's EventEmitter2", () => {
      expect(resolve({ events: { eventEmitter: false } }).events).toEqual({ eventEmitter: false });
    });
    it('passwords.throttle: false, no throttling', () => {
      expect(resolve({ passwords: { throttle: false } }).passwords.throttle).toBeNull();
    });
    it('maintenance.expiringNoticeSeconds: false, no notice', () => {
      expect(resolve({ maintenance: { expiringNoticeSeconds: false } }).maintenance.expiringNoticeSeconds).toBe(false);
    });
    it('tokens: null for no expiry, no limit, no idle timeout, no cap', () => {
      expect(
        resolve({
          tokens: { lifetimeSeconds: null, maxLifetimeSeconds: null, idleTimeoutSeconds: null, maxPerUser: null },
        }).tokens,
      ).toMatchObject({ lifetimeSeconds: null, maxLifetimeSeconds: null, idleTimeoutSeconds: null, maxPerUser: null });
    });
    it('tokens.lastUsedIntervalSeconds: 0, a record at every use', () => {
      expect(
        resolve({ tokens: { lastUsedIntervalSeconds: 0, idleTimeoutSeconds: 1 } }).tokens.lastUsedIntervalSeconds,
      ).toBe(0);
    });
    it('tokens.unusedScopeSeconds: as short as tokens.lastUsedIntervalSeconds', () => {
      expect(
        resolve({ tokens: { lastUsedIntervalSeconds: 60, unusedScopeSeconds: 60 } }).tokens.unusedScopeSeconds,
      ).toBe(60);
    });
  });

  describe('names the unknown key and the known ones', () => {
    it.each([
      [
        { tokenPrefx: 'x' },
        'unknown option tokenPrefx; known: user, secret, tokens, credentials, revocation, sessions, maintenance, cache, passwords, usage, events, teams, clock, telemetry, isGlobal, exceptionFilter, routes',
      ],
      [
        { user: { entity: User, login: 'x' } },
        'unknown option user.login; known: entity, idField, usernameField, passwordHashField, blockedField, permissions',
      ],
      [
        { tokens: { foo: 1 } },
        'unknown option tokens.foo; known: prefix, lifetimeSeconds, maxLifetimeSeconds, idleTimeoutSeconds, maxPerUser, lastUsedIntervalSeconds, unusedScopeSeconds',
      ],
      [
        { credentials: { allowQueryParameter: true } },
        'unknown option credentials.allowQueryParameter; known: queryParameter, foreign, realm',
      ],
      [{ revocation: { revokeOn: [] } }, 'unknown option revocation.revokeOn; known: on, shouldRevoke'],
      [
        { sessions: { accessTtl: 60 } },
        'unknown option sessions.accessTtl; known: accessLifetimeSeconds, refreshLifetimeSeconds',
      ],
      [
        { maintenance: { retention: 60 } },
        'unknown option maintenance.retention; known: intervalSeconds, prune, retentionSeconds, expiringNoticeSeconds',
      ],
      [{ cache: { ttl: 60 } }, 'unknown option cache.ttl; known: max, ttlSeconds, busTtlSeconds, bus'],
      [{ passwords: { limit: 3 } }, 'unknown option passwords.limit; known: throttle'],
      [{ events: { emitter: false } }, 'unknown option events.emitter; known: eventEmitter'],
      [
        { passwords: { throttle: { window: 60 } } },
        'unknown option passwords.throttle.window; known: perAccount, perClient, windowSeconds, store, clientKey',
      ],
    ])('%j', (extra, message) => {
      expect(refusal(extra)).toBe(`AccessTokensModule: ${message}`);
    });

    // 0.1.0's flat options are gone without a shim: each is unknown, and the list shows the groups.
    it.each([
      'tokenPrefix',
      'defaultExpiresIn',
      'maxExpiresIn',
      'allowQueryParameter',
      'queryParameter',
      'foreignCredentials',
      'realm',
      'lastUsedInterval',
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
      'passwordGrant',
    ])('the old top-level %s', (name) => {
      expect(refusal({ [name]: 1 })).toMatch(
        new RegExp(
          `^AccessTokensModule: unknown option ${name}; known: user, secret, tokens, credentials, .*, clock, telemetry, isGlobal, exceptionFilter, routes$`,
        ),
      );
    });

    it('several at once', () => {
      expect(refusal({ tokens: { a: 1, b: 2 } })).toMatch(
        /^AccessTokensModule: unknown option tokens.a, tokens.b; known: prefix, /,
      );
    });
  });

  it.each([
    // The options object and its groups
    [null, 'forRoot() needs an options object'],
    [
      { tokens: 'nat' },
      'tokens must be an object: { prefix?, lifetimeSeconds?, maxLifetimeSeconds?, idleTimeoutSeconds?, maxPerUser?, lastUsedIntervalSeconds?, unusedScopeSeconds? }',
    ],
    [{ credentials: [] }, 'credentials must be an object: { queryParameter?, foreign?, realm? }'],
    [{ sessions: 900 }, 'sessions must be an object: { accessLifetimeSeconds?, refreshLifetimeSeconds? }'],
    [{ maintenance: false }, 'maintenance must be an object'],
    [{ revocation: null }, 'revocation must be an object'],
    [{ passwords: false }, 'passwords must be an object: { throttle? }'],
    // user
    [{ user: undefined }, "user.entity must be the app's user entity class, e.g. forRoot({ user: { entity: User } })"],
    [{ user: { entity: 'User' } }, "user.entity must be the app's user entity class"],
    [{ user: { entity: User, permissions: ['read'] } }, 'user.permissions must be a function (user) => string[]'],
    [{ user: { entity: User, idField: '' } }, 'user.idField must be a property name of the user entity'],
    [{ user: { entity: User, usernameField: null } }, 'user.usernameField must be a property name of the user entity'],
    [
      { user: { entity: User, blockedField: 3 } },
      'user.blockedField must be a property name of the user entity, or null',
    ],
    // secret
    [{ secret: undefined }, 'secret is missing: generate one with `openssl rand -base64 32`'],
    [{ secret: 'too short to sign anything' }, 'secret is 26 bytes long; it needs at least 32: generate one'],
    [{ secret: 'changemechangemechangemechangeme' }, 'secret contains "changeme": it looks like a placeholder'],
    [{ secret: 'a'.repeat(40) }, 'secret repeats a few characters'],
    [{ secret: [SECRET, 'short'] }, 'secret #2 is 5 bytes long'],
    [{ secret: [] }, 'secret must be a string, or a list of them with the current one first'],
    // tokens
    [
      { tokens: { prefix: 'Bad-Prefix' } },
      'tokens.prefix "Bad-Prefix" must be lower-case letters and digits in "_"-separated words, starting with a letter, at most 20 characters',
    ],
    [{ tokens: { prefix: 'a'.repeat(21) } }, 'tokens.prefix "aaaaaaaaaaaaaaaaaaaaa" must be lower-case'],
    [{ tokens: { prefix: 7 } }, 'tokens.prefix 7 must be lower-case'],
    [{ tokens: { lifetimeSeconds: -1 } }, 'tokens.lifetimeSeconds must be a positive whole number of seconds, or null'],
    [
      { tokens: { lifetimeSeconds: 1.5 } },
      'tokens.lifetimeSeconds must be a positive whole number of seconds, or null',
    ],
    [
      { tokens: { lifetimeSeconds: '3600' } },
      'tokens.lifetimeSeconds must be a positive whole number of seconds, or null',
    ],
    [
      { tokens: { maxLifetimeSeconds: 0 } },
      'tokens.maxLifetimeSeconds must be a positive whole number of seconds, or null',
    ],
    [
      { tokens: { lifetimeSeconds: 7200, maxLifetimeSeconds: 3600 } },
      'tokens.lifetimeSeconds (7200) must not exceed tokens.maxLifetimeSeconds (3600): lower it, or raise tokens.maxLifetimeSeconds (null for no limit)',
    ],
    [
      { tokens: { lifetimeSeconds: null } },
      'tokens.lifetimeSeconds (null) must not exceed tokens.maxLifetimeSeconds (31536000)',
    ],
    [
      { tokens: { maxLifetimeSeconds: 60 } },
      'tokens.lifetimeSeconds (2592000) must not exceed tokens.maxLifetimeSeconds (60)',
    ],
    [
      { tokens: { idleTimeoutSeconds: 0 } },
      'tokens.idleTimeoutSeconds must be a positive whole number of seconds, or null',
    ],
    [{ tokens: { unusedScopeSeconds: 0 } }, 'tokens.unusedScopeSeconds must be a positive whole number of seconds'],
    [{ tokens: { unusedScopeSeconds: null } }, 'tokens.unusedScopeSeconds must be a positive whole number of seconds'],
    [
      { tokens: { unusedScopeSeconds: 59 } },
      'tokens.unusedScopeSeconds (59) must be at least tokens.lastUsedIntervalSeconds (60)',
    ],
    [
      { tokens: { idleTimeoutSeconds: 100 } },
      'tokens.idleTimeoutSeconds (100) must be at least twice tokens.lastUsedIntervalSeconds (60)',
    ],
    [
      { tokens: { idleTimeoutSeconds: 100, lastUsedIntervalSeconds: 51 } },
      'tokens.idleTimeoutSeconds (100) must be at least twice tokens.lastUsedIntervalSeconds (51)',
    ],
    [{ tokens: { maxPerUser: 0 } }, 'tokens.maxPerUser must be a positive whole number of tokens, or null'],
    [
      { tokens: { lastUsedIntervalSeconds: -1 } },
      'tokens.lastUsedIntervalSeconds must be a whole number of seconds, 0 or more',
    ],
    [
      { tokens: { lastUsedIntervalSeconds: 0.5 } },
      'tokens.lastUsedIntervalSeconds must be a whole number of seconds, 0 or more',
    ],
    // credentials
    [
      { credentials: { queryParameter: 'a b' } },
      'credentials.queryParameter must be false, or the name of the query parameter: 1 to 64 letters, digits, "_", "." or "-", e.g. "access_token" or "jwt"',
    ],
    [
      { credentials: { queryParameter: true } },
      'credentials.queryParameter must be false, or the name of the query parameter',
    ],
    [
      { credentials: { queryParameter: '' } },
      'credentials.queryParameter must be false, or the name of the query parameter',
    ],
    [{ credentials: { queryParameter: 'q'.repeat(65) } }, 'credentials.queryParameter must be false, or the name'],
    [
      { credentials: { foreign: 'allow' } },
      'credentials.foreign must be "refuse" or "pass" (let tokens that are not this module\'s through to the next guard)',
    ],
    [
      { credentials: { realm: 'a"b' } },
      'credentials.realm must be a non-empty string of printable ASCII without " or \\',
    ],
    [{ credentials: { realm: 'a\\b' } }, 'credentials.realm must be a non-empty string'],
    [{ credentials: { realm: '' } }, 'credentials.realm must be a non-empty string'],
    [{ credentials: { realm: 'café' } }, 'credentials.realm must be a non-empty string'],
    // revocation
    [{ revocation: { on: 'email' } }, 'revocation.on must be a list of user property names'],
    [{ revocation: { on: ['email', ''] } }, 'revocation.on must be a list of user property names'],
    [
      { revocation: { shouldRevoke: true } },
      'revocation.shouldRevoke must be a function (before, after) => string | false',
    ],
    // sessions
    [
      { sessions: { accessLifetimeSeconds: 0 } },
      'sessions.accessLifetimeSeconds must be a positive whole number of seconds',
    ],
    [
      { sessions: { refreshLifetimeSeconds: null } },
      'sessions.refreshLifetimeSeconds must be a positive whole number of seconds',
    ],
    // maintenance
    [
      { maintenance: { intervalSeconds: 0.5 } },
      'maintenance.intervalSeconds must be a positive whole number of seconds',
    ],
    [{ maintenance: { prune: 'yes' } }, 'maintenance.prune must be true or false'],
    [{ events: { eventEmitter: 'auto' } }, 'events.eventEmitter must be true or false'],
    [{ events: true }, 'events must be an object: { eventEmitter? }'],
    [
      { maintenance: { retentionSeconds: -5 } },
      'maintenance.retentionSeconds must be a positive whole number of seconds',
    ],
    [
      { maintenance: { expiringNoticeSeconds: true } },
      'maintenance.expiringNoticeSeconds must be a positive whole number of seconds, or false',
    ],
    // cache
    [{ cache: true }, 'cache must be false or { max?, ttlSeconds?, busTtlSeconds?, bus? }'],
    [{ cache: null }, 'cache must be false or { max?, ttlSeconds?, busTtlSeconds?, bus? }'],
    [{ cache: { max: 0 } }, 'cache.max must be a positive whole number of entries'],
    [{ cache: { ttlSeconds: 0 } }, 'cache.ttlSeconds must be a positive whole number of seconds'],
    [{ cache: { busTtlSeconds: 1.5 } }, 'cache.busTtlSeconds must be a positive whole number of seconds'],
    [
      { cache: { ttlSeconds: 60, busTtlSeconds: 30 } },
      'cache.busTtlSeconds (30) must be at least cache.ttlSeconds (60): the bus only makes a verification safer to keep',
    ],
    [{ cache: { bus: 'redis' } }, 'cache.bus must be { type: "redis", url } or { type: "postgres" }'],
    [{ cache: { bus: { type: 'redis' } } }, 'cache.bus.url must be a redis:// URL'],
    [{ cache: { bus: { type: 'redis', url: 'http://cache' } } }, 'cache.bus.url must be a redis:// URL'],
    [{ cache: { bus: { type: 'kafka' } } }, 'cache.bus.type must be "redis" or "postgres"'],
    [
      { cache: { bus: { type: 'postgres', channel: 'Bad-Channel' } } },
      'cache.bus.channel must be lower-case letters, digits and "_", starting with a letter or "_"',
    ],
    // passwords
    [
      { passwords: { throttle: true } },
      'passwords.throttle must be false or { perAccount?, perClient?, windowSeconds?, store?, clientKey? }',
    ],
    [
      { passwords: { throttle: { perAccount: 0 } } },
      'passwords.throttle.perAccount must be a positive whole number of attempts',
    ],
    [
      { passwords: { throttle: { perClient: 2.5 } } },
      'passwords.throttle.perClient must be a positive whole number of attempts',
    ],
    [
      { passwords: { throttle: { windowSeconds: 1.5 } } },
      'passwords.throttle.windowSeconds must be a positive whole number of seconds',
    ],
    [
      { passwords: { throttle: { store: {} } } },
      'passwords.throttle.store must have increment(key, ttl, limit, blockDuration, name), as a @nestjs/throttler ThrottlerStorage does',
    ],
    [
      { passwords: { throttle: { clientKey: 'ip' } } },
      'passwords.throttle.clientKey must be a function (request) => string | undefined',
    ],
    // clock
    [{ clock: {} }, 'clock must have a now(): Date method'],
    // telemetry
    [{ telemetry: { meters: {} } }, 'unknown option telemetry.meters; known: meterProvider, tracerProvider'],
    [
      { telemetry: { meterProvider: {} } },
      'telemetry.meterProvider must be an OpenTelemetry MeterProvider (with getMeter()), or left out',
    ],
    [
      { telemetry: { tracerProvider: 'global' } },
      'telemetry.tracerProvider must be an OpenTelemetry TracerProvider (with getTracer()), or left out',
    ],
  ])('refuses %j: %s', (extra, message) => {
    const run = () => (extra === null ? resolveAccessTokensOptions(null as never) : resolve(extra));
    expect(run).toThrow(InvalidOptionsError);
    expect(run).toThrow(message);
  });

  it("keeps the app's own meter and tracer providers", () => {
    const meterProvider = { getMeter: () => ({}) } as never;
    const tracerProvider = { getTracer: () => ({}) } as never;
    expect(resolve({ telemetry: { meterProvider, tracerProvider } }).telemetry).toEqual({
      meterProvider,
      tracerProvider,
    });
  });

  it('accepts the cache buses as given, with the default channel', () => {
    expect(resolve({ cache: { bus: { type: 'redis', url: 'rediss://cache:6380' } } }).cache).toMatchObject({
      bus: { type: 'redis', url: 'rediss://cache:6380', channel: 'access_tokens_invalidation' },
    });
    // Without busTtlSeconds, a ttlSeconds above its default raises it.
    expect(resolve({ cache: { ttlSeconds: 600 } }).cache).toMatchObject({ ttlSeconds: 600, busTtlSeconds: 600 });
  });

  it.each([
    [{ usage: { defaults: { maxUses: 0 } } }, 'usage.defaults: maxUses must be a whole number from 1 to 2147483647'],
    [
      { usage: { defaults: { rateLimits: 3 } } },
      'unknown option usage.defaults.rateLimits; known: rateLimit, maxUses, usesPeriod, allowedIps',
    ],
    [
      { usage: { counters: 'redis' } },
      'usage.counters must be "memory" or { type: "redis", url: "redis://…", keyPrefix? }',
    ],
    [
      { usage: { counters: { type: 'redis', url: 'http://x' } } },
      'usage.counters must be "memory" or { type: "redis", url: "redis://…", keyPrefix? }',
    ],
  ])('refuses the usage options %j, saying what to change', (extra, message) => {
    expect(refusal(extra)).toBe(`AccessTokensModule: ${message}`);
  });

  it('counts rate limits in the Redis of a Redis bus unless told otherwise, in memory without one', () => {
    expect(resolve({}).usage.counters).toEqual({ type: 'memory' });
    const bus = { type: 'redis', url: 'redis://127.0.0.1:6379' } as const;
    expect(resolve({ cache: { bus } }).usage.counters).toMatchObject({
      type: 'redis',
      url: bus.url,
      option: 'cache.bus',
    });
    expect(resolve({ cache: { bus }, usage: { counters: 'memory' } }).usage.counters).toEqual({ type: 'memory' });
  });
});

describe('teams', () => {
  class Team {}

  it('are off unless given', () => {
    expect(resolveAccessTokensOptions(base).teams).toBeNull();
  });

  it('map the team entity like the user entity, watching its name and blocking by default', () => {
    const permissions = () => ['deploy'];
    const { teams } = resolve({ teams: { entity: Team, permissions } });
    expect(teams).toMatchObject({
      entity: Team,
      idField: 'id',
      nameField: 'name',
      blockedField: 'blocked',
      revokeOn: ['name', 'blocked'],
    });
    expect(teams!.permissions!({})).toEqual(['deploy']);
  });

  it('take other field names, no blocking, and their own watched fields', () => {
    const { teams } = resolve({
      teams: {
        entity: Team,
        idField: 'uuid',
        nameField: 'slug',
        blockedField: null,
        revocation: { on: ['slug', 'plan'] },
      },
    });
    expect(teams).toMatchObject({ idField: 'uuid', nameField: 'slug', blockedField: null, revokeOn: ['slug', 'plan'] });
    expect(resolve({ teams: { entity: Team, blockedField: null } }).teams!.revokeOn).toEqual(['name']);
  });

  it.each([
    [{ teams: {} }, "teams.entity must be the app's team entity class"],
    [{ teams: { entity: User } }, 'teams.entity must be another entity than user.entity'],
    [{ teams: { entity: Team, nameField: '' } }, 'teams.nameField must be a property name of the team entity'],
    [{ teams: { entity: Team, nameField: null } }, 'teams.nameField must be a property name of the team entity'],
    [{ teams: { entity: Team, idField: null } }, 'teams.idField must not be null'],
    [{ teams: { entity: Team, permissions: ['a'] } }, 'teams.permissions must be a function (team) => string[]'],
    [
      { teams: { entity: Team, revocation: { on: 'name' } } },
      'teams.revocation.on must be a list of team property names',
    ],
    [{ teams: { entity: Team, revocation: { of: [] } } }, 'unknown option teams.revocation.of; known: on'],
    [{ teams: { entity: Team, owner: 'x' } }, 'unknown option teams.owner; known: entity, idField'],
  ])('stop start-up when wrong: %j', (extra, message) => {
    expect(refusal(extra)).toContain(message);
  });
});
