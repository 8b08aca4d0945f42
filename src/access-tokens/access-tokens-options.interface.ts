import type { Type } from '@nestjs/common';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import type { Clock } from './core/clock.js';
import type { SigningKeys } from './core/keys.js';
import type { PasswordAttemptStore } from './password/password-attempts.js';
import type { AuthenticatableRequest } from './access-tokens.interfaces.js';
import type { StoredPolicy, TokenUsagePolicy } from './usage/usage-policy.js';

/*
 * The options of `AccessTokensModule.forRoot()`, grouped by concern. One rule for every duration:
 * it is a whole number of seconds, and its name ends in `Seconds`. The defaults stated here are
 * applied in one place, `ACCESS_TOKENS_DEFAULTS` (options/defaults.ts); the checks are in
 * options/resolve-options.ts.
 */

/**
 * Where the module's OpenTelemetry metrics and spans go (docs/observability.md). The module uses
 * `@opentelemetry/api` only: without an SDK registered, or given here, every instrument is a no-op.
 */
export interface TelemetryOptions {
  /** The meter provider of the module's metrics. Default: the global one (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** The tracer provider of the module's spans. Default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
}

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

/**
 * A second kind of owner: the app's team (or organisation, project) entity, whose tokens belong to
 * the team rather than to the member who made them. Mapped like the user entity.
 */
export interface AccessTokensTeamOptions<Team extends object = object> {
  /** The app's team entity class; it must be registered with the app's TypeORM `DataSource`. */
  entity: Type<Team>;
  /** The primary key property. Default `'id'`. */
  idField?: string;
  /** The team's name property. Default `'name'`. */
  nameField?: string;
  /** The boolean "blocked" property, or `null` if teams cannot be blocked. Default `'blocked'`. */
  blockedField?: string | null;
  /**
   * What the team may do now: a team's token never grants more (its effective scopes are its own
   * intersected with these, at each request). Default: no cap.
   */
  permissions?(team: Team): readonly string[] | Promise<readonly string[]>;
  /**
   * Team properties whose change revokes all the team's tokens; for `blockedField`, only the change
   * to blocked counts. Default: `nameField` and `blockedField`.
   */
  revocation?: { on?: string[] };
}

/** Personal tokens: their form, lifetimes and number. */
export interface TokenOptions {
  /** The prefix of every token: lower-case letters and digits, `_`-separated. Default `'nat'`. */
  prefix?: string;
  /** Lifetime of a token issued without `expiresIn`; `null`: no expiry. Default 30 days (2592000). */
  lifetimeSeconds?: number | null;
  /** The longest lifetime a token may ask for; `null`: no limit. Default 365 days (31536000). */
  maxLifetimeSeconds?: number | null;
  /**
   * Disuse after which a personal token expires; `null`: never idles out. At least twice
   * `lastUsedIntervalSeconds`, as uses are recorded that often. Default `null`.
   */
  idleTimeoutSeconds?: number | null;
  /** The most live personal tokens one user may hold; `null`: no limit. Default 100. */
  maxPerUser?: number | null;
  /** `lastUsedAt` is written at most once per token per this many seconds; 0: at every use. Default 60. */
  lastUsedIntervalSeconds?: number;
  /**
   * The least-privilege hints' window: a token's `unusedScopes` are its scopes not exercised (no
   * route's `@Scopes()` granted by them) in the last this many seconds, or never, however young the
   * token. Exercised scopes are recorded once per `lastUsedIntervalSeconds` while in use, so the
   * window must be at least that long. Default 90 days (7776000).
   */
  unusedScopeSeconds?: number;
}

/** Where the module reads credentials, and what it does with others'. */
export interface CredentialOptions {
  /**
   * `false`, or the query parameter that may carry the token (it leaks into logs and history):
   * `'access_token'` (RFC 6750 §2.3), or `'jwt'` as the CollectiveAccess API names it. Default `false`.
   */
  queryParameter?: string | false;
  /**
   * What `AccessTokenGuard` does with credentials that are not this module's tokens: a Bearer
   * token without the `tokens.prefix` (a JWT, say), or another `Authorization` scheme.
   * - `'refuse'` (default): 401, as for any bad token.
   * - `'pass'`: let the request through unauthenticated, for the next guard (the app's JWT guard,
   *   or `AccessTokensAuthGuard('jwt')`) to authenticate. Requests without credentials are still
   *   refused. Only with such a guard after it: on its own it would open every route to them.
   */
  foreign?: 'refuse' | 'pass';
  /** The `realm` of `WWW-Authenticate` challenges. Default `'api'`. */
  realm?: string;
}

/** When a change to a user revokes all their tokens. */
export interface RevocationOptions {
  /**
   * User properties whose change revokes all the user's tokens. For `blockedField`, only the change
   * to blocked counts. Default: `usernameField`, `passwordHashField`, `blockedField`.
   */
  on?: string[];
  /**
   * A policy consulted first when a user is saved: return a reason (recorded and reported in the
   * 401) to revoke all the user's tokens, or `false` to let `on` decide. Sees `save()` writes
   * only, as TypeORM gives the row before the change only to those.
   *
   * @example shouldRevoke: (before, after) => before.role !== after.role && 'role_changed'
   */
  shouldRevoke?(before: object, after: object): string | false | null | undefined;
}

/** Login sessions (`SessionsService`, the ready-made session routes). */
export interface SessionOptions {
  /** Lifetime of a login session's access token. Default 900 (15 minutes). */
  accessLifetimeSeconds?: number;
  /** Lifetime of a login session's refresh token. Default 7 days (604800). */
  refreshLifetimeSeconds?: number;
}

/** The background work: pruning and expiry notices. */
export interface MaintenanceOptions {
  /** Time between runs of the background work. Default 300. */
  intervalSeconds?: number;
  /** Whether the background work prunes tokens past `retentionSeconds`. Default `true`. */
  prune?: boolean;
  /**
   * How long an expired or revoked token is kept, answering `expired` / `revoked` with its reason,
   * before pruning deletes it (it then answers `unknown`, or `expired` by its signed expiry).
   * Default 7 days (604800).
   */
  retentionSeconds?: number;
  /**
   * How long before a personal token expires the `expiring` event fires, once; `false`: never.
   * Default 7 days (604800).
   */
  expiringNoticeSeconds?: number | false;
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
   * How long a verification is trusted for without a bus, or while the bus is down; bounds
   * staleness if an invalidation is lost. Default 10.
   */
  ttlSeconds?: number;
  /**
   * How long a verification is trusted for while the bus is connected, when every revocation and
   * user change reaches every instance as it happens. Meanwhile each instance reads its cached
   * verifications again in the background, 500 per query, once they are half this old, so that a
   * busy token is not read again as its entry ages out, and a change no subscriber saw (raw SQL)
   * is still found within this time. When the bus drops, the cache is flushed and `ttlSeconds`
   * applies until it is back (and flushed again). At least `ttlSeconds`. Default 300.
   */
  busTtlSeconds?: number;
  /** Invalidation across instances; without it, other instances see a revocation within `ttlSeconds`. */
  bus?: CacheBusOptions;
}

/** How `@AllowPassword()` routes and `PasswordGrantService` throttle password attempts. */
export interface PasswordThrottleOptions {
  /** Attempts per account (every spelling of its name the collation matches) per window. Default 10. */
  perAccount?: number;
  /** Attempts per client (by `clientKey`) per window, whatever the account. Default 30. */
  perClient?: number;
  /** The window; past a limit, the account or client waits this long. Default 60. */
  windowSeconds?: number;
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

/** Passwords: `@AllowPassword()` routes and `PasswordGrantService` (bcrypt against `user.passwordHashField`). */
export interface PasswordOptions {
  /**
   * Throttling of password attempts, or `false` for none (only behind throttling of the app's own).
   * Default `{ perAccount: 10, perClient: 30, windowSeconds: 60 }`, counted in memory.
   */
  throttle?: PasswordThrottleOptions | false;
}

/** Where tokens' rate limits are counted. */
export type RateLimitCounters = 'memory' | { type: 'redis'; url: string; keyPrefix?: string };

/** Tokens' usage policies: the policy of a token issued without one, and where rate limits are counted. */
export interface UsageOptions {
  /**
   * The policy a token is issued with for each part its `issue()` leaves out (`null` there says
   * none): say `{ rateLimit: { limit: 1000, window: 3600 } }` for every token. Default: none.
   */
  defaults?: TokenUsagePolicy;
  /**
   * Where rate limits are counted: `'memory'`, each instance its own requests, or
   * `{ type: 'redis', url }`, every instance together, one atomic round trip a request and no
   * database query. Default: the Redis of `cache.bus` when it is one, otherwise `'memory'`. Quotas
   * of uses (`maxUses`) are always counted in the database, exactly.
   */
  counters?: RateLimitCounters;
}

/** How the module's events reach the app. */
export interface EventOptions {
  /**
   * Whether every event is also emitted on the app's `EventEmitter2` when the app has one
   * (`@nestjs/event-emitter`, `EventEmitterModule.forRoot()`), as `access-tokens.<name>`
   * (`ACCESS_TOKEN_EVENTS`) with the payload `AccessTokenEventMap` gives, for `@OnEvent()`
   * listeners. `false`: only to the listeners of `AccessTokenEvents.on()`, which always get them.
   * Default `true`: used when present, skipped when not installed or not imported.
   */
  eventEmitter?: boolean;
}

/**
 * Options of `AccessTokensModule.forRoot()` / `forRootAsync()`, grouped by concern. Every duration
 * is a whole number of seconds, and its name ends in `Seconds`.
 */
export interface AccessTokensModuleOptions {
  /** The app's user entity and how to read it. */
  user: AccessTokensUserOptions;
  /** The app's team entity, whose tokens belong to a team (`TeamTokensService`). Default: none, no team tokens. */
  teams?: AccessTokensTeamOptions;
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
  /** Personal tokens: prefix, lifetimes, idle timeout, number per user, use records. Defaults: see `TokenOptions`. */
  tokens?: TokenOptions;
  /** The query parameter, others' credentials, the challenge realm. Defaults: see `CredentialOptions`. */
  credentials?: CredentialOptions;
  /** Which user changes revoke all the user's tokens. Default: a change of name, password hash or blocked. */
  revocation?: RevocationOptions;
  /** Lifetimes of login sessions' tokens. Defaults: see `SessionOptions`. */
  sessions?: SessionOptions;
  /** Pruning and expiry notices, in the background. Defaults: see `MaintenanceOptions`. */
  maintenance?: MaintenanceOptions;
  /**
   * The in-process verification cache, or `false` for none (every request then costs one indexed
   * query). Default `{ max: 10000, ttlSeconds: 10, busTtlSeconds: 300 }`, no bus.
   */
  cache?: CacheOptions | false;
  /** Password attempts and their throttling. Default: throttled `{ perAccount: 10, perClient: 30, windowSeconds: 60 }`. */
  passwords?: PasswordOptions;
  /** Tokens' usage policies: defaults, and where rate limits are counted. Default: no policy, counted in memory. */
  usage?: UsageOptions;
  /** Whether events also go to the app's `@nestjs/event-emitter`. Default: when the app has it. */
  events?: EventOptions;
  /** Where the time comes from; tests pass a controllable clock. Default: the system clock. */
  clock?: Clock;
  /**
   * OpenTelemetry metrics and spans, or `false` for none (not even a clock read per request).
   * Default: the global meter and tracer providers, no-ops unless the app registers an SDK.
   */
  telemetry?: TelemetryOptions | false;
}

/*
 * Internal: what the module's services read, once options/resolve-options.ts has checked the
 * options above and applied the defaults. Same groups and names as the options, every default
 * applied, and what may be left out as `null`.
 */

/** `tokens`, with the prefixes of the other kinds of token derived from `tokens.prefix`. */
export interface ResolvedTokenOptions {
  readonly prefix: string;
  readonly lifetimeSeconds: number | null;
  readonly maxLifetimeSeconds: number | null;
  readonly idleTimeoutSeconds: number | null;
  readonly maxPerUser: number | null;
  readonly lastUsedIntervalSeconds: number;
  readonly unusedScopeSeconds: number;
  /** The prefix of login sessions' access tokens: `` `${prefix}_s` ``. */
  readonly sessionPrefix: string;
  /** The prefix of login sessions' refresh tokens: `` `${prefix}_r` ``. */
  readonly refreshPrefix: string;
}

/** `credentials`. */
export interface ResolvedCredentialOptions {
  /** `false`, or the query parameter that may carry the token. */
  readonly queryParameter: string | false;
  readonly foreign: 'refuse' | 'pass';
  readonly realm: string;
}

/** `revocation`. */
export interface ResolvedRevocationOptions {
  /** Without duplicates, and without the user fields that are `null`. */
  readonly on: readonly string[];
  readonly shouldRevoke: ((before: object, after: object) => string | false | null | undefined) | null;
}

/** `sessions`. */
export interface ResolvedSessionOptions {
  readonly accessLifetimeSeconds: number;
  readonly refreshLifetimeSeconds: number;
}

/** `maintenance`. */
export interface ResolvedMaintenanceOptions {
  readonly intervalSeconds: number;
  readonly prune: boolean;
  readonly retentionSeconds: number;
  readonly expiringNoticeSeconds: number | false;
}

/** `cache`, when on. */
export interface ResolvedCacheOptions {
  readonly max: number;
  readonly ttlSeconds: number;
  readonly busTtlSeconds: number;
  /** With its `channel` defaulted; `null`: no bus. */
  readonly bus: Required<CacheBusOptions> | null;
}

/** `passwords.throttle`, when on. */
export interface ResolvedPasswordThrottle {
  readonly perAccount: number;
  readonly perClient: number;
  readonly windowSeconds: number;
  /** `null`: the module's own memory store. */
  readonly store: PasswordAttemptStore | null;
  readonly clientKey: (request: AuthenticatableRequest) => string | undefined;
}

/** `passwords`. */
export interface ResolvedPasswordOptions {
  /** `null`: password attempts are not throttled. */
  readonly throttle: ResolvedPasswordThrottle | null;
}

/** `usage`. */
export interface ResolvedUsageOptions {
  readonly defaults: StoredPolicy;
  readonly counters:
    | { readonly type: 'memory' }
    | {
        readonly type: 'redis';
        readonly url: string;
        readonly keyPrefix: string;
        /** The option that named this Redis, for the messages about it: `usage.counters`, or `cache.bus` when left out. */
        readonly option: 'usage.counters' | 'cache.bus';
      };
}

/** `events`. */
export interface ResolvedEventOptions {
  readonly eventEmitter: boolean;
}

/** `user`. */
export interface ResolvedUserOptions {
  readonly entity: Type<object>;
  readonly idField: string;
  readonly usernameField: string;
  readonly passwordHashField: string | null;
  readonly blockedField: string | null;
  readonly permissions: ((user: object) => readonly string[] | Promise<readonly string[]>) | null;
}

/** `teams`, when given. */
export interface ResolvedTeamOptions {
  readonly entity: Type<object>;
  readonly idField: string;
  readonly nameField: string;
  readonly blockedField: string | null;
  readonly permissions: ((team: object) => readonly string[] | Promise<readonly string[]>) | null;
  /** `revocation.on`, without duplicates. */
  readonly revokeOn: readonly string[];
}

/** The options with every default applied; what the module's services read. */
export interface ResolvedAccessTokensOptions {
  readonly user: ResolvedUserOptions;
  /** `null`: no team entity, no team tokens. */
  readonly teams: ResolvedTeamOptions | null;
  readonly tokens: ResolvedTokenOptions;
  readonly credentials: ResolvedCredentialOptions;
  readonly revocation: ResolvedRevocationOptions;
  readonly sessions: ResolvedSessionOptions;
  readonly maintenance: ResolvedMaintenanceOptions;
  /** `null`: no verification cache. */
  readonly cache: ResolvedCacheOptions | null;
  readonly passwords: ResolvedPasswordOptions;
  readonly usage: ResolvedUsageOptions;
  readonly events: ResolvedEventOptions;
  readonly clock: Clock;
  /** `null`: no telemetry (`telemetry: false`); `{}`: the global providers. */
  readonly telemetry: TelemetryOptions | null;
  /** The keys derived from `secret`; the secret itself is not kept. */
  readonly keys: SigningKeys;
}
