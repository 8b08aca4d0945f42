import {
  Inject,
  Injectable,
  type ExecutionContext,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import type { AuthenticatableRequest, VerifiedAccessToken } from '../access-tokens.interfaces.js';
import { AccessTokensHttpException } from './access-tokens-http.exception.js';
import { setAnswerHeaders } from './rfc6750.js';
import { readCredentials, type PresentedCredentials } from './credentials.js';
import type { ResponseHost } from './execution-context.js';
import { refuseIn } from './refusals.js';
import type { ScopeRequirement } from '../core/scopes.js';
import { TokenVerifier } from '../verification/token-verifier.js';
import { ScopeUses } from '../verification/scope-uses.js';

/**
 * The verified token of each authenticated request. Not a property of the request: Express 5 gives
 * every request a new prototype, after which V8 takes a slow path for each property added to it
 * (about 2.5 µs each, measured); `request.user` is the one the module adds, as Passport does.
 */
const verifiedTokens = new WeakMap<object, VerifiedAccessToken>();

/** The verified token a guard attached to the request, if any. */
export function verifiedTokenOf(request: AuthenticatableRequest): VerifiedAccessToken | undefined {
  return verifiedTokens.get(request);
}

/**
 * Keeps `verified` as the request's token, and its user as `request.user`: an own property of the
 * request, as Passport sets it. The module gives Express's and Fastify's prototypes nothing: they
 * belong to the app.
 */
export function attach(request: AuthenticatableRequest, verified: VerifiedAccessToken): VerifiedAccessToken {
  verifiedTokens.set(request, verified);
  // A team is nobody's user: `request.user` stays unset for a team's token (`@CurrentOwner()` gives it).
  if (verified.owner.kind === 'user') request.user = verified.user;
  return verified;
}

/**
 * The verification under way or done for each HTTP request (a GraphQL operation's included), with
 * the token it was for: a request is verified, counted against its token's rate limit and charged
 * one of its uses once, however many guards run for it. A GraphQL operation runs the guards once
 * per field, in parallel for a query's fields, so the promise itself is kept.
 */
const verifications = new WeakMap<
  object,
  { token: string; verified: VerifiedAccessToken | Promise<VerifiedAccessToken> }
>();

/** Requests whose user proved who they are by password (`@AllowPassword()`), not by a token. */
const passwordUsers = new WeakSet<object>();

/** Puts the user a password authenticated on `request.user`, as `attach` does for a token's. */
export function attachPasswordUser(request: AuthenticatableRequest, user: object): void {
  passwordUsers.add(request);
  request.user = user;
}

/**
 * The user this module authenticated on the request: a verified personal token's or session's, or
 * the one whose password an `@AllowPassword()` route checked. `undefined` otherwise (a team's token
 * included), whatever `request.user` holds (another
 * guard's, with `credentials.foreign: 'pass'`).
 */
export function authenticatedUserOf(request: AuthenticatableRequest): object | undefined {
  const verified = verifiedTokens.get(request);
  if (verified) return verified.owner.kind === 'user' ? verified.user : undefined;
  return passwordUsers.has(request) ? (request.user as object) : undefined;
}

/** Each app's authenticator, by the app's HTTP server (its Express app or Fastify instance). */
const authenticators = new WeakMap<object, AccessTokenAuthenticator>();

/**
 * The authenticator of the app that `request` came to. Passport keeps one strategy per name for
 * the whole process, so with two apps in one process (tests, say) the `'access-token'` strategy
 * Passport calls may be the other app's: it asks here for the right one.
 */
export function authenticatorOf(request: AuthenticatableRequest): AccessTokenAuthenticator | undefined {
  // Express gives each request its app; Fastify, its server.
  const { app, server } = request as { app?: unknown; server?: unknown };
  const owner = app ?? server;
  return typeof owner === 'object' || typeof owner === 'function' ? authenticators.get(owner as object) : undefined;
}

/**
 * The one verification path, shared by `AccessTokenGuard` and `AccessTokenStrategy`: read the
 * credentials, verify the token, attach the result to the request.
 */
@Injectable()
export class AccessTokenAuthenticator implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: object | null = null;
  // The options read at each request, kept here: one property read each.
  /** `tokens.prefix` */
  private readonly prefix: string;
  /** `credentials.queryParameter` */
  private readonly queryParameter: string | false;
  /** `credentials.foreign` */
  private readonly foreign: 'refuse' | 'pass';
  /** `credentials.realm` */
  private readonly realm: string;

  constructor(
    private readonly verifier: TokenVerifier,
    @Inject(RESOLVED_OPTIONS) options: ResolvedAccessTokensOptions,
    private readonly adapterHost: HttpAdapterHost,
    /** The scopes each token exercised. */
    private readonly scopeUses: ScopeUses,
  ) {
    this.prefix = options.tokens.prefix;
    this.queryParameter = options.credentials.queryParameter;
    this.foreign = options.credentials.foreign;
    this.realm = options.credentials.realm;
  }

  onApplicationBootstrap(): void {
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined;
    const server = adapter?.getInstance<object | undefined>();
    if (!adapter || !server) return;
    this.server = server;
    authenticators.set(server, this);
  }

  onApplicationShutdown(): void {
    if (this.server && authenticators.get(this.server) === this) authenticators.delete(this.server);
  }

  /**
   * What a guard or strategy throws for `error`: an `HttpException` with the RFC 6750 answer for
   * the module's errors, anything else as it is. Given the HTTP response, it also sets the answer's
   * `WWW-Authenticate` challenge there, so that the challenge survives an app's own catch-all
   * filter, which Nest consults before the module's when the app registers it with
   * `useGlobalFilters()` (measured).
   */
  refusal(error: unknown, response?: unknown): unknown {
    const refusal = AccessTokensHttpException.from(error, this.realm);
    if (response !== undefined && refusal instanceof AccessTokensHttpException) {
      const { httpAdapter } = this.adapterHost;
      setAnswerHeaders((name, value) => httpAdapter.setHeader(response, name, value), refusal);
    }
    return refusal;
  }

  /**
   * Throws the refusal of `error` as `context` reports errors: an `AccessTokensHttpException`
   * (HTTP, GraphQL), or a `WsException` in a WebSocket gateway, which rejects the returned promise.
   */
  refuse(error: unknown, context: ExecutionContext, response: unknown): never | Promise<never> {
    return refuseIn(context, this.refusal(error, response));
  }

  /**
   * Whether `credentials` are someone else's, to be let through to the next guard: only with
   * `credentials.foreign: 'pass'`, for a token that does not carry this module's prefix, or an
   * `Authorization` header of another scheme.
   */
  passesAsForeign(request: AuthenticatableRequest, credentials: PresentedCredentials): boolean {
    if (this.foreign !== 'pass') return false;
    if (credentials.type === 'token') return !this.isOwnToken(credentials.token);
    return credentials.type === 'none' && request.headers.authorization !== undefined;
  }

  /** Whether `token` claims to be one of this module's (it may still be malformed). */
  isOwnToken(token: string): boolean {
    const { prefix } = this;
    return token.startsWith(prefix) && token.charAt(prefix.length) === '_';
  }

  credentialsOf(request: AuthenticatableRequest): PresentedCredentials {
    const authorization = request.headers.authorization;
    return readCredentials(
      {
        authorization: Array.isArray(authorization) ? authorization[0] : authorization,
        // Read only when allowed: Express parses the query string anew on each access.
        queryToken:
          this.queryParameter === false
            ? undefined
            : (request.query as Record<string, unknown> | undefined)?.[this.queryParameter],
      },
      this.queryParameter,
    );
  }

  /**
   * Records that `requirements` (a route's `@Scopes()`) let a request with `verified` through: the
   * token's own scopes that granted them are exercised. A Map lookup when they were recorded within
   * `tokens.lastUsedIntervalSeconds`.
   */
  exercised(
    verified: VerifiedAccessToken,
    requirements: readonly ScopeRequirement[],
    request: AuthenticatableRequest,
  ): void {
    this.scopeUses.exercised(verified, requirements, request);
  }

  /**
   * Verifies the token, applies its usage policy to the request (its rate limit's headers set on
   * the response of `host`, if given) and attaches the result to the request. A cached verification of a token
   * without a policy returns at once, without a promise; anything else goes through
   * `TokenVerifier.resolve` as a promise.
   */
  authenticate(
    request: AuthenticatableRequest,
    token: string,
    host?: ResponseHost,
  ): VerifiedAccessToken | Promise<VerifiedAccessToken> {
    // The Passport strategy gives no host: it serves HTTP requests only.
    const transport = host ? host.getType() : 'http';
    // A WebSocket connection keeps one request for all its messages, each verified and counted.
    if (transport === 'ws') return this.verify(request, token, host, transport);
    const earlier = verifications.get(request);
    if (earlier !== undefined && earlier.token === token) return earlier.verified;
    const verified = this.verify(request, token, host, transport);
    verifications.set(request, { token, verified });
    return verified;
  }

  private verify(
    request: AuthenticatableRequest,
    token: string,
    host: ResponseHost | undefined,
    transport: string,
  ): VerifiedAccessToken | Promise<VerifiedAccessToken> {
    const verified = this.verifier.resolve(token, request, host, transport);
    return verified instanceof Promise ? verified.then((result) => attach(request, result)) : attach(request, verified);
  }
}
