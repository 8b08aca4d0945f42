import { Injectable, Module, type DynamicModule, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerException, ThrottlerGuard, ThrottlerModule, type ThrottlerLimitDetail, type ThrottlerOptions } from '@nestjs/throttler';
import { readCredentials } from 'nestjs-access-tokens';
import type { IncomingHttpHeaders } from 'node:http';
import { CREDENTIAL_ATTEMPT, type CredentialSource } from './credential-attempt.decorator.js';
import { RedisThrottlerStorage, THROTTLER_REDIS } from './redis-throttler.storage.js';

/**
 * The account a user name reaches, whatever the database's collation: MariaDB's default one
 * matches `alice`, `ALICE`, `àlice` and `alice ` alike, so they must share one count of attempts.
 */
export function throttleKey(username: string): string {
  return username.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().trim();
}

/** What the throttling reads of a request, on Express and Fastify alike: its headers and parsed body. */
export interface AttemptRequest {
  headers: IncomingHttpHeaders;
  body?: unknown;
}

/**
 * The account a request tries to sign in as, read where its route reads it (`@CredentialAttempt`):
 * the HTTP Basic user name, the JSON body's `username`, or the `username` argument of a GraphQL
 * operation (`args`). Whatever else the request carries (a token, Basic credentials on a route that
 * reads the body) does not move the guess to another count. `null` when it names no account.
 */
export function attemptedUsername(request: AttemptRequest, from: CredentialSource | undefined, args?: unknown): string | null {
  if (from === 'basic') {
    try {
      const credentials = readCredentials({ authorization: request.headers.authorization }, { allowQueryParameter: false });
      return credentials.type === 'password' ? throttleKey(credentials.username) : null;
    } catch {
      return null; // refused by the route as a malformed header, before any password is checked
    }
  }
  const fields = from === 'body' ? request.body : from === 'args' ? args : undefined;
  const username = (fields as { username?: unknown } | null | undefined)?.username;
  return typeof username === 'string' ? throttleKey(username) : null;
}

/** Where the route of `context` reads the user name, from `@CredentialAttempt()`. */
function credentialSource(context: ExecutionContext): CredentialSource | undefined {
  return Reflect.getMetadata(CREDENTIAL_ATTEMPT, context.getHandler()) as CredentialSource | undefined;
}

/**
 * A GraphQL operation's context as the demo's drivers build it: Apollo's `{ req, res }`, Mercurius's
 * `{ req, reply }` (Nest puts `req` in either).
 */
interface GraphQLContext {
  req: AttemptRequest;
  res?: object;
  reply?: object & { request: AttemptRequest };
}

/**
 * The request and response behind `context`: a route's, or a GraphQL operation's (Apollo on
 * Express, or Mercurius on Fastify, whose reply carries the request), as the throttler's README
 * reads them. `res` is `undefined` where there is none to set headers on.
 */
function requestResponseOf(context: ExecutionContext): { req: AttemptRequest; res: object | undefined } {
  if (context.getType<string>() !== 'graphql') {
    const http = context.switchToHttp();
    return { req: http.getRequest<AttemptRequest>(), res: http.getResponse<object>() };
  }
  const graphql = context.getArgByIndex<GraphQLContext>(2);
  return graphql.reply ? { req: graphql.reply.request, res: graphql.reply } : { req: graphql.req, res: graphql.res };
}

/** The account the request of `context` tries, with a GraphQL operation's arguments where it has them. */
function attemptOf(context: ExecutionContext, request: AttemptRequest = requestResponseOf(context).req): string | null {
  const args = context.getType<string>() === 'graphql' ? context.getArgByIndex<unknown>(1) : undefined;
  return attemptedUsername(request, credentialSource(context), args);
}

/**
 * A 429 that a GraphQL answer shows as `TOO_MANY_REQUESTS` with the seconds to wait: graphql-js
 * copies an error's `extensions` onto the GraphQL error. Over HTTP, a `ThrottlerException` as any.
 */
export class TooManyAttemptsException extends ThrottlerException {
  readonly extensions: { code: 'TOO_MANY_REQUESTS'; retryAfter: number };

  constructor(message: string, retryAfter: number) {
    super(message);
    this.extensions = { code: 'TOO_MANY_REQUESTS', retryAfter };
  }
}

/**
 * Throttles the routes and GraphQL resolvers marked `@CredentialAttempt()`, so that guessing
 * passwords is slow: each user name, and each client address, gets a limited number of attempts a
 * minute, over REST and GraphQL together. Answers 429 with `Retry-After` (in GraphQL, an error
 * with `extensions.code` `TOO_MANY_REQUESTS`, and the header on the HTTP answer).
 */
@Injectable()
export class CredentialsThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return credentialSource(context) === undefined;
  }

  protected override getRequestResponse(context: ExecutionContext): { req: AttemptRequest; res: object } {
    // The throttler sets headers on `res` unconditionally: without a response, on nothing.
    const { req, res } = requestResponseOf(context);
    return { req, res: res ?? {} };
  }

  /** One count per user name (or client) across all the routes that check passwords. */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    // Named throttlers answer Retry-After-<name>; clients look for the plain header. Set as the
    // throttler sets its own, on Express's response or Fastify's reply (which has no setHeader).
    this.setResponseHeader(this.getRequestResponse(context).res, 'Retry-After', String(detail.timeToBlockExpire));
    throw new TooManyAttemptsException(await this.getErrorMessage(context, detail), detail.timeToBlockExpire);
  }
}

/** Where the counts of attempts live: Redis, shared by every instance, or each process's memory. */
export type ThrottleStore = { type: 'memory' } | { type: 'redis'; url: string; prefix: string };

/**
 * Password-attempt throttling with `@nestjs/throttler`. `main.ts` composes it around the app.
 * (It is CommonJS requiring ES-module-only NestJS, which Node 20 loads but Jest on Node 20 cannot,
 * so the in-process specs run the app without it and a spec drives the built server instead.)
 */
@Module({})
export class CredentialsThrottlingModule {
  static forRoot(limits: { perUser: number; perClient: number; store: ThrottleStore }): DynamicModule {
    const throttlers: ThrottlerOptions[] = [
      {
        name: 'user',
        ttl: 60_000,
        limit: limits.perUser,
        getTracker: (request, context) => attemptOf(context, request as AttemptRequest) ?? '',
        skipIf: (context) => attemptOf(context) === null,
      },
      { name: 'client', ttl: 60_000, limit: limits.perClient },
    ];
    const { store } = limits;
    return {
      module: CredentialsThrottlingModule,
      imports: [
        store.type === 'redis'
          ? ThrottlerModule.forRootAsync({
              imports: [RedisThrottlerStorageModule.forRoot(store)],
              inject: [RedisThrottlerStorage],
              useFactory: (storage: RedisThrottlerStorage) => ({ throttlers, storage }),
            })
          : ThrottlerModule.forRoot({ throttlers }),
      ],
      providers: [{ provide: APP_GUARD, useClass: CredentialsThrottlerGuard }],
    };
  }
}

/** Provides the Redis storage as a class of its own, so that Nest closes its connection at shutdown. */
@Module({})
class RedisThrottlerStorageModule {
  static forRoot(store: { url: string; prefix: string }): DynamicModule {
    return {
      module: RedisThrottlerStorageModule,
      providers: [{ provide: THROTTLER_REDIS, useValue: store }, RedisThrottlerStorage],
      exports: [RedisThrottlerStorage],
    };
  }
}
