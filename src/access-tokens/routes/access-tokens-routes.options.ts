import { InvalidOptionsError } from '../core/access-tokens.errors.js';
import { isValidScope } from '../core/scopes.js';

/**
 * The ready-made routes of `forRoot({ routes })`: the token routes under `path`, the login session
 * routes under `sessionsPath`. Paths are under the app's global prefix, if it sets one.
 *
 * | Route | Needs | Answers |
 * | --- | --- | --- |
 * | `POST {path}/generate` `{ name?, scopes?, expiresIn? }` | Basic `user:password`, or a token | 201 `{ token, expires, id, name, scopes }` |
 * | `GET {path}?limit=&cursor=&status=live\|all` | `scopes.read` | a page of the caller's tokens; `Link: <…>; rel="next"` while there are more |
 * | `POST {path}` `{ name, scopes?, expiresIn? }` | `scopes.write` | 201 `{ token, ...view }` |
 * | `PATCH {path}/:id` `{ name }` | `scopes.write` | the renamed token |
 * | `POST {path}/:id/rotate` `{ graceSeconds? }` | `scopes.write` | 201 `{ token, ...view }` |
 * | `DELETE {path}/:id`, `DELETE {path}` | `scopes.write` | 204 |
 * | `POST {path}/revoke` `{ token }` | nothing | 200, the same whether or not it existed |
 * | `POST {sessionsPath}/login` `{ username, password }` | nothing | 200 `{ accessToken, refreshToken, expiresIn, user }` |
 * | `POST {sessionsPath}/refresh` `{ refreshToken }` | nothing | 200 `{ accessToken, refreshToken, expiresIn }` |
 * | `POST {sessionsPath}/logout` | the session's access token | 204 |
 *
 * @example
 * AccessTokensModule.forRoot({ user: { entity: User }, secret: process.env.TOKEN_SECRET, routes: { path: 'api/tokens', sessionsPath: 'api/auth' } })
 */
export interface AccessTokensRoutesOptions {
  /** Where the token routes are mounted. Default `'tokens'`. */
  path?: string;
  /** Where login, refresh and logout are mounted, or `false` for none. Default `'auth'`. */
  sessionsPath?: string | false;
  /**
   * The scope the listing route needs (`read`) and the one the routes that change tokens need
   * (`write`); `null`: any valid token. Default `{ read: 'tokens:read', write: 'tokens:write' }`.
   * Generating needs none: a token only ever makes tokens within its own scopes.
   */
  scopes?: { read?: string | null; write?: string | null };
  /**
   * Whether users sign in with a password: `POST {path}/generate` then takes HTTP Basic user name
   * and password as well as a token (`@AllowPassword()`), and `POST {sessionsPath}/login` exists.
   * `false` for users without one (`user.passwordHashField: null`). Default `true`.
   */
  password?: boolean;
  /**
   * What the login answer shows of the user, as `user`. Default `{ id, username }`, read through
   * `user.idField` and `user.usernameField`. Never put the password hash in it.
   */
  presentUser?(user: object): unknown;
}

/** The routes options with their defaults applied. */
export interface ResolvedRoutesOptions {
  readonly path: string;
  readonly sessionsPath: string | null;
  readonly scopes: { readonly read: string | null; readonly write: string | null };
  readonly password: boolean;
  readonly presentUser: ((user: object) => unknown) | null;
}

/** The defaults of `routes`, in one place. */
export const ROUTES_DEFAULTS = {
  path: 'tokens',
  sessionsPath: 'auth',
  scopes: { read: 'tokens:read', write: 'tokens:write' },
  password: true,
} as const;

const KEYS = new Set(['path', 'sessionsPath', 'scopes', 'password', 'presentUser']);
const PATH = /^[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/;

function fail(message: string): never {
  throw new InvalidOptionsError(message);
}

function path(value: unknown, name: string, fallback: string): string {
  if (value === undefined) return fallback;
  const trimmed = typeof value === 'string' ? value.replace(/^\/+|\/+$/g, '') : '';
  if (!PATH.test(trimmed))
    fail(
      `routes.${name} must be a path of letters, digits, ".", "_", "~" and "-" in "/"-separated parts, e.g. "tokens" or "api/tokens"`,
    );
  return trimmed;
}

function scope(value: unknown, name: string, fallback: string): string | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  if (!isValidScope(value))
    fail(`routes.scopes.${name} must be a scope such as "${fallback}", or null for any valid token`);
  return value;
}

/**
 * Checks `forRoot({ routes })` and applies the defaults; `null` when no routes are asked for.
 * Throws `InvalidOptionsError` saying what to change, so that the app stops at start-up.
 */
export function resolveRoutesOptions(
  routes: AccessTokensRoutesOptions | boolean | undefined,
): ResolvedRoutesOptions | null {
  if (routes === undefined || routes === false) return null;
  if (routes !== true && (typeof routes !== 'object' || routes === null))
    fail('routes must be true, false, or { path?, sessionsPath?, scopes?, password?, presentUser? }');
  const given: AccessTokensRoutesOptions = routes === true ? {} : routes;
  const extra = Object.keys(given).filter((key) => !KEYS.has(key));
  if (extra.length > 0)
    fail(`unknown option ${extra.map((key) => `routes.${key}`).join(', ')}; known: ${[...KEYS].join(', ')}`);
  if (given.scopes !== undefined && (typeof given.scopes !== 'object' || given.scopes === null))
    fail('routes.scopes must be { read?, write? }');
  const scopes = given.scopes ?? {};
  const extraScopes = Object.keys(scopes).filter((key) => key !== 'read' && key !== 'write');
  if (extraScopes.length > 0)
    fail(`unknown option ${extraScopes.map((key) => `routes.scopes.${key}`).join(', ')}; known: read, write`);
  if (given.password !== undefined && typeof given.password !== 'boolean')
    fail('routes.password must be true or false');
  if (given.presentUser !== undefined && typeof given.presentUser !== 'function')
    fail('routes.presentUser must be a function (user) => what the login answer shows');
  return {
    path: path(given.path, 'path', ROUTES_DEFAULTS.path),
    sessionsPath:
      given.sessionsPath === false ? null : path(given.sessionsPath, 'sessionsPath', ROUTES_DEFAULTS.sessionsPath),
    scopes: {
      read: scope(scopes.read, 'read', ROUTES_DEFAULTS.scopes.read),
      write: scope(scopes.write, 'write', ROUTES_DEFAULTS.scopes.write),
    },
    password: given.password ?? ROUTES_DEFAULTS.password,
    presentUser: given.presentUser ? given.presentUser.bind(given) : null,
  };
}
