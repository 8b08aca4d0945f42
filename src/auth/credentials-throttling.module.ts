import { Injectable, Module, type DynamicModule, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule, type ThrottlerLimitDetail, type ThrottlerOptions } from '@nestjs/throttler';
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
 * the HTTP Basic user name, or the JSON body's `username`. Whatever else the request carries (a
 * token, Basic credentials on a route that reads the body) does not move the guess to another
 * count. `null` when it names no account.
 */
export function attemptedUsername(request: AttemptRequest, from: CredentialSource | undefined): string | null {
  if (from === 'basic') {
    try {
      const credentials = readCredentials({ authorization: request.headers.authorization }, { allowQueryParameter: false });
      return credentials.type === 'password' ? throttleKey(credentials.username) : null;
    } catch {
      return null; // refused by the route as a malformed header, before any password is checked
    }
  }
  const username = from === 'body' ? (request.body as { username?: unknown } | undefined)?.username : undefined;
  return typeof username === 'string' ? throttleKey(username) : null;
}

/** Where the route of `context` reads the user name, from `@CredentialAttempt()`. */
function credentialSource(context: ExecutionContext): CredentialSource | undefined {
  return Reflect.getMetadata(CREDENTIAL_ATTEMPT, context.getHandler()) as CredentialSource | undefined;
}

/**
 * Throttles the routes marked `@CredentialAttempt()`, so that guessing passwords is slow: each
 * user name, and each client address, gets a limited number of attempts a minute. Answers 429 with
 * `Retry-After`.
 */
@Injectable()
export class CredentialsThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return credentialSource(context) === undefined;
  }

  /** One count per user name (or client) across all the routes that check passwords. */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    // Named throttlers answer Retry-After-<name>; clients look for the plain header. Set as the
    // throttler sets its own, on Express's response or Fastify's reply (which has no setHeader).
    this.setResponseHeader(this.getRequestResponse(context).res, 'Retry-After', String(detail.timeToBlockExpire));
    await super.throwThrottlingException(context, detail);
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
        getTracker: (request, context) => attemptedUsername(request as AttemptRequest, credentialSource(context)) ?? '',
        skipIf: (context) => attemptedUsername(context.switchToHttp().getRequest<AttemptRequest>(), credentialSource(context)) === null,
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
