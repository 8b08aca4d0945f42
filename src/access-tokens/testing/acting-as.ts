import type { INestApplicationContext } from '@nestjs/common';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import type { UserId } from '../access-tokens.interfaces.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { InvalidOptionsError, InvalidScopeError, TokenNotFoundError } from '../core/access-tokens.errors.js';
import { TokensService } from '../tokens.service.js';

/** What `actingAs()` takes besides the app and the user. */
export interface ActingAsOptions {
  /**
   * The token's scopes, as `TokensService.issue()` takes them. Default `['*']`: everything the user
   * may do. A scope beyond the user's `permissions` is refused with `InvalidScopeError`, as in
   * production, so a test cannot grant what no real token of that user could have.
   */
  scopes?: readonly string[];
  /** Lifetime in seconds, read on the module's `clock`; `null` for none. Default: `tokens.lifetimeSeconds`. */
  expiresIn?: number | null;
  /** The token's name, as `list()` shows it. Default `'actingAs'`. */
  name?: string;
}

const OPTION_KEYS = new Set(['scopes', 'expiresIn', 'name']);

/** The reason `revokeActingAs()` revokes with: what a refused request then says (`revokedReason`). */
const ACTING_AS_ENDED = 'acting_as_ended';

/**
 * The tokens `actingAs()` issued, per app (keyed by its `TokensService`), so that
 * `revokeActingAs(app)` finds them: token id → owner id. Weak, so an app closed and dropped takes
 * its entry along, and two apps in one process never see each other's.
 */
const issued = new WeakMap<TokensService, Map<string, string>>();

/**
 * An `Authorization` header value (`Bearer nat_…`) that authenticates requests to `app` as `user`:
 * Laravel Sanctum's `actingAs`, for a NestJS test.
 *
 * It issues a real personal token through the app's own `TokensService`, rather than faking a user
 * on the request, because a fake cannot pass what the app really runs: `AccessTokenGuard` and
 * `ScopesGuard` registered as `APP_GUARD` providers are not replaced by `overrideGuard()`, and
 * `ScopesGuard` reads the scopes the token guard verified, which a hand-set `request.user` does
 * not carry. With a real token the whole production path runs on every request: the token is
 * looked up, the user loaded, its scopes capped by the user's `permissions`, and `@CurrentUser()`,
 * `@CurrentToken()` and `@Scopes()` see exactly what they see in production. A user blocked (or a
 * password changed) after `actingAs()` therefore loses access as a real user would.
 *
 * `TokensService.issue()`'s rules hold: a scope beyond the user's permissions is refused with
 * `InvalidScopeError`, a blocked user with `AccountBlockedError` (`user_blocked`), an unknown one with
 * `UserNotFoundError`, and past `tokens.maxPerUser` live tokens with `TooManyTokensError`. The token
 * is a row in the app's token table: a test database thrown away after the run needs no cleanup;
 * otherwise see {@link revokeActingAs}.
 *
 * @param app the app under test: an `INestApplication`, or the `TestingModule` it came from (any
 *   Nest application context that imports `AccessTokensModule`).
 * @param user the user entity (its id is read from the `user.idField` option) or its id. The user
 *   is loaded anew from the database, as a login would: a stale copy in the test does not matter.
 *
 * @example
 * const alice = await users.save(users.create({ email: 'alice@example.com', permissions: ['reports:read'] }));
 * await request(app.getHttpServer())
 *   .get('/reports')
 *   .set('Authorization', await actingAs(app, alice, { scopes: ['reports:read'] }))
 *   .expect(200);
 */
export async function actingAs(
  app: INestApplicationContext,
  user: UserId | object,
  options: ActingAsOptions = {},
): Promise<string> {
  const { tokens, idField } = moduleOf(app, 'actingAs');
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionsError('actingAs(app, user, options): options must be an object');
  const unknown = Object.keys(options).filter((key) => !OPTION_KEYS.has(key));
  if (unknown.length > 0) {
    throw new InvalidOptionsError(
      `actingAs() has no option ${unknown.map((key) => `"${key}"`).join(', ')}: it takes scopes, expiresIn and name`,
    );
  }
  if (options.scopes !== undefined && !Array.isArray(options.scopes)) {
    throw new InvalidScopeError("actingAs() scopes must be a list, e.g. { scopes: ['reports:read'] }");
  }
  const id = idOf(user, idField);
  const { token, accessToken } = await tokens.issue(id, {
    name: options.name ?? 'actingAs',
    scopes: options.scopes,
    expiresIn: options.expiresIn,
  });
  let mine = issued.get(tokens);
  if (!mine) issued.set(tokens, (mine = new Map()));
  mine.set(accessToken.id, String(id));
  return `Bearer ${token}`;
}

/**
 * Revokes every token `actingAs()` issued for `app` that is still live (reason `acting_as_ended`),
 * and forgets them. Call it before `app.close()`, in an `afterEach`/`afterAll`, when the test
 * database outlives the run (a shared or reused database), or when one suite acts as the same user
 * more than `tokens.maxPerUser` times (100 by default): revoked tokens no longer count. A throwaway
 * test database needs none of this. Tokens revoked or deleted meanwhile (the user was blocked or
 * deleted) are skipped.
 *
 * @example
 * afterEach(() => revokeActingAs(app));
 */
export async function revokeActingAs(app: INestApplicationContext): Promise<void> {
  const { tokens } = moduleOf(app, 'revokeActingAs');
  const mine = issued.get(tokens);
  if (!mine) return;
  for (const [tokenId, userId] of [...mine]) {
    try {
      await tokens.revoke(userId, tokenId, ACTING_AS_ENDED);
    } catch (error) {
      if (!(error instanceof TokenNotFoundError)) throw error;
    }
    mine.delete(tokenId);
  }
}

/** The app's `TokensService` and the id property of its users, or an error that says what to pass. */
function moduleOf(app: INestApplicationContext, helper: string): { tokens: TokensService; idField: string } {
  if (typeof app !== 'object' || app === null || typeof (app as Partial<INestApplicationContext>).get !== 'function') {
    throw new InvalidOptionsError(`${helper}(app, …) needs the app under test: an INestApplication or a TestingModule`);
  }
  try {
    return {
      tokens: app.get(TokensService, { strict: false }),
      idField: app.get<symbol, ResolvedAccessTokensOptions>(RESOLVED_OPTIONS, { strict: false }).user.idField,
    };
  } catch (error) {
    throw new InvalidOptionsError(
      `${helper}(app, …) found no TokensService in this app: pass the INestApplication or TestingModule of an app that imports AccessTokensModule.forRoot()`,
      { cause: error },
    );
  }
}

function idOf(user: UserId | object, idField: string): UserId {
  if (typeof user === 'string' || typeof user === 'number') return user;
  const id = typeof user === 'object' && user !== null ? (user as Record<string, unknown>)[idField] : undefined;
  if (typeof id !== 'string' && typeof id !== 'number') {
    throw new InvalidOptionsError(
      `actingAs(app, user): user must be a user entity with its "${idField}" (the user.idField option) set, or that id`,
    );
  }
  return id;
}
