import type { DataSourceOptions } from 'typeorm';
import type { AccessTokensModuleOptions, Clock } from 'nestjs-access-tokens';
import type { ThrottleStore } from './auth/redis-throttler.storage.js';
import type { DemoHttpAdapter } from './http.js';

/** Injection token of the demo's `DemoConfig`. */
export const DEMO_CONFIG = Symbol('demo-config');

/** What the demo API is started with. */
export interface DemoConfig {
  /** The database connection (entities and migrations are added by the app). */
  database: DataSourceOptions;
  /** What tokens are signed with, the current secret first; from TOKEN_SECRET (see token-secret.ts). */
  secret: string | readonly string[];
  /** bcrypt cost; at least 10. */
  bcryptRounds: number;
  /** Tests pass a controllable clock. */
  clock?: Clock;
  /** An admin (permission `users:admin`) created at start if missing; from ADMIN_USERNAME and ADMIN_PASSWORD. */
  admin?: { username: string; password: string };
  /** The token verification cache; from TOKEN_CACHE and TOKEN_CACHE_BUS. Default: on, no bus. */
  cache?: AccessTokensModuleOptions['cache'];
  /** The HTTP server, from HTTP_ADAPTER. Default `express`. */
  httpAdapter?: DemoHttpAdapter;
  /**
   * The query parameter that may carry the token (`access_token`, or the CollectiveAccess API's
   * `jwt`), from TOKEN_QUERY_PARAMETER. Default: none, only headers; a token in a URL leaks into logs.
   */
  queryParameter?: string;
  /**
   * Password attempts allowed a minute per account and per client, and where they are counted;
   * from LOGIN_ATTEMPTS_PER_USER, LOGIN_ATTEMPTS_PER_CLIENT and TOKEN_CACHE_BUS (`main.ts`).
   * Unset, passwords are not throttled: the in-process specs sign in as often as they like, and
   * the specs of the built server check the throttling.
   */
  loginAttempts?: { perUser: number; perClient: number; store: ThrottleStore };
  /**
   * Whether the module's metrics go to the demo's OpenTelemetry SDK (`GET /metrics`). Default
   * `true`. The benchmark turns it off, to measure what the module costs an app without an SDK.
   */
  metrics?: boolean;
}
