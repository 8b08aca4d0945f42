import { Injectable, Module, type DynamicModule, type ExecutionContext } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { Request } from 'express';
import { readCredentials } from 'nestjs-access-tokens';
import { CREDENTIAL_ATTEMPT } from './credential-attempt.decorator.js';

/**
 * The user name a request tries to sign in as: from HTTP Basic user name and password, or from a
 * JSON body's `username`. `null` when it presents a token or nothing.
 */
export function attemptedUsername(request: Request): string | null {
  try {
    const credentials = readCredentials({ authorization: request.headers.authorization }, { allowQueryParameter: false });
    if (credentials.type === 'password') return credentials.username.toLowerCase();
    if (credentials.type === 'token') return null;
  } catch {
    return null;
  }
  const username = (request.body as { username?: unknown } | undefined)?.username;
  return typeof username === 'string' ? username.toLowerCase() : null;
}

/**
 * Throttles the routes marked `@CredentialAttempt()`, so that guessing passwords is slow: each
 * user name, and each client address, gets a limited number of attempts a minute. Answers 429 with
 * `Retry-After`.
 */
@Injectable()
export class CredentialsThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    return this.reflector.getAllAndOverride<boolean | undefined>(CREDENTIAL_ATTEMPT, [context.getHandler(), context.getClass()]) !== true;
  }

  /** One count per user name (or client) across all the routes that check passwords. */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    // Named throttlers answer Retry-After-<name>; clients look for the plain header.
    context.switchToHttp().getResponse<{ setHeader(name: string, value: string): void }>().setHeader('Retry-After', String(detail.timeToBlockExpire));
    await super.throwThrottlingException(context, detail);
  }
}

/**
 * Password-attempt throttling with `@nestjs/throttler`. `main.ts` composes it around the app.
 * (It is CommonJS requiring ES-module-only NestJS, which Node 20 loads but Jest on Node 20 cannot,
 * so the in-process specs run the app without it and a spec drives the built server instead.)
 */
@Module({})
export class CredentialsThrottlingModule {
  static forRoot(limits: { perUser: number; perClient: number }): DynamicModule {
    return {
      module: CredentialsThrottlingModule,
      imports: [
        ThrottlerModule.forRoot({
          throttlers: [
            {
              name: 'user',
              ttl: 60_000,
              limit: limits.perUser,
              getTracker: (request) => attemptedUsername(request as Request) ?? '',
              skipIf: (context) => attemptedUsername(context.switchToHttp().getRequest<Request>()) === null,
            },
            { name: 'client', ttl: 60_000, limit: limits.perClient },
          ],
        }),
      ],
      providers: [{ provide: APP_GUARD, useClass: CredentialsThrottlerGuard }],
    };
  }
}
