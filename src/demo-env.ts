import { createHash } from 'node:crypto';
import type { ThrottleStore } from './auth/redis-throttler.storage.js';
import { connectionFromUrl } from './database.js';
import type { DemoConfig } from './demo.config.js';
import { DEMO_HTTP_ADAPTERS, type DemoHttpAdapter } from './http.js';
import { tokenSecretFromEnv } from './token-secret.js';
import { USERNAME_PATTERN, passwordProblem } from './users/users.dto.js';

/** ADMIN_USERNAME and ADMIN_PASSWORD, both or neither. */
function adminFromEnv(): DemoConfig['admin'] {
  const { ADMIN_USERNAME: username, ADMIN_PASSWORD: password } = process.env;
  if (!username && !password) return undefined;
  if (!username || !password) throw new Error('Set both ADMIN_USERNAME and ADMIN_PASSWORD, or neither');
  if (!USERNAME_PATTERN.test(username))
    throw new Error('ADMIN_USERNAME must be 3 to 64 letters, digits, "_", "." or "-"');
  const problem = passwordProblem(password);
  if (problem) throw new Error(`ADMIN_PASSWORD: ${problem}`);
  return { username, password };
}

/** TOKEN_CACHE=off turns the verification cache off; TOKEN_CACHE_BUS=redis://… or postgres shares invalidations. */
function cacheFromEnv(): DemoConfig['cache'] {
  const { TOKEN_CACHE: cache, TOKEN_CACHE_BUS: bus } = process.env;
  if (cache === 'off') return false;
  if (!bus) return {};
  if (bus === 'postgres') return { bus: { type: 'postgres' } };
  if (/^rediss?:\/\//.test(bus)) return { bus: { type: 'redis', url: bus } };
  throw new Error('TOKEN_CACHE_BUS must be a redis:// URL or "postgres"');
}

/**
 * Where password attempts are counted: in the Redis of TOKEN_CACHE_BUS when it is one, so that all
 * instances share the count, otherwise in each process. Keys are prefixed by the database, so that
 * apps on one Redis but different databases count apart.
 */
export function throttleStoreFromEnv(): ThrottleStore {
  const bus = process.env.TOKEN_CACHE_BUS;
  if (!bus || !/^rediss?:\/\//.test(bus)) return { type: 'memory' };
  const database = createHash('sha256')
    .update(process.env.DATABASE_URL ?? 'sqlite')
    .digest('hex')
    .slice(0, 16);
  return { type: 'redis', url: bus, prefix: `throttle:${database}` };
}

/** A positive whole number from the environment, or the default. */
export function positiveFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number`);
  return value;
}

/** HTTP_ADAPTER: express (default) or fastify. */
function httpAdapterFromEnv(): DemoHttpAdapter {
  const adapter = process.env.HTTP_ADAPTER || 'express';
  const known = DEMO_HTTP_ADAPTERS.find((name) => name === adapter);
  if (!known) throw new Error(`HTTP_ADAPTER must be ${DEMO_HTTP_ADAPTERS.join(' or ')}, not "${adapter}"`);
  return known;
}

/** TOKEN_QUERY_PARAMETER: the query parameter that may carry the token; unset, none may. */
function queryParameterFromEnv(): string | undefined {
  const name = process.env.TOKEN_QUERY_PARAMETER;
  if (name === undefined || name === '') return undefined;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
    throw new Error('TOKEN_QUERY_PARAMETER must be 1 to 64 letters, digits, "_", "." or "-", e.g. access_token or jwt');
  }
  return name;
}

/** The demo's configuration from the environment; a wrong value stops it with what to fix. */
export function demoConfigFromEnv(): DemoConfig {
  const database = connectionFromUrl(process.env.DATABASE_URL);
  return {
    database,
    secret: tokenSecretFromEnv(database),
    bcryptRounds: Math.max(10, positiveFromEnv('BCRYPT_ROUNDS', 10)),
    admin: adminFromEnv(),
    cache: cacheFromEnv(),
    httpAdapter: httpAdapterFromEnv(),
    queryParameter: queryParameterFromEnv(),
  };
}
