import 'reflect-metadata';
import {
  Controller,
  Get,
  Injectable,
  Module,
  Query,
  Req,
  UnauthorizedException,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { JwtModule, JwtService } from '@nestjs/jwt';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { Public, TokensService } from 'nestjs-access-tokens';
import { hashToken } from '../src/access-tokens/core/token-format.js';
import { AppModule } from '../src/app.module.js';
import { demoConfigFromEnv } from '../src/demo-env.js';
import { configureDemoApp, createHttpAdapter, DEMO_APP_OPTIONS } from '../src/http.js';
import { publicUser, type User } from '../src/users/user.entity.js';
import { BENCH_JWT_SECRET } from './bench.constants.js';

/**
 * The demo API as `npm start` runs it, plus what only the benchmark needs: a route behind a JWT
 * guard written as the NestJS documentation writes it (for comparison; not part of the product),
 * and a count of database queries.
 */

/** Counts the queries TypeORM runs. */
class QueryCount implements TypeOrmLogger {
  static count = 0;
  logQuery(): void {
    QueryCount.count += 1;
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}

/** The guard of the NestJS authentication guide, verifying an HS256 JWT. */
@Injectable()
class JwtAuthGuard implements CanActivate {
  constructor(private readonly jwt: JwtService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; jwt?: unknown }>();
    const [type, token] = request.headers.authorization?.split(' ') ?? [];
    if (type !== 'Bearer' || !token) throw new UnauthorizedException();
    try {
      request.jwt = await this.jwt.verifyAsync(token, { secret: BENCH_JWT_SECRET });
    } catch {
      throw new UnauthorizedException();
    }
    return true;
  }
}

/**
 * The least a token guard can do, as the issue measured it: SHA-256 of the bearer token and a
 * lookup in a `Map`, then `request.user`. The ceiling for any token guard (it checks no expiry,
 * revocation or scope), for comparison; not part of the product. A token it has not seen is
 * verified once by the product, outside the measured runs.
 */
@Injectable()
class ReferenceGuard implements CanActivate {
  private readonly users = new Map<string, User>();

  constructor(private readonly tokens: TokensService) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; user?: unknown }>();
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) throw new UnauthorizedException();
    const raw = header.slice('Bearer '.length);
    const key = hashToken(raw);
    const user = this.users.get(key);
    if (user) {
      request.user = user;
      return true;
    }
    return this.tokens.verify<User>(raw).then(
      (verified) => {
        this.users.set(key, verified.user);
        request.user = verified.user;
        return true;
      },
      () => {
        throw new UnauthorizedException();
      },
    );
  }
}

@Public()
@Controller()
class BenchController {
  @UseGuards(JwtAuthGuard)
  @Get('jwt/me')
  me(): { ok: true } {
    return { ok: true };
  }

  /** What `GET /users/me` answers, behind the reference guard. */
  @UseGuards(ReferenceGuard)
  @Get('reference/me')
  referenceMe(@Req() request: { user: User }): ReturnType<typeof publicUser> {
    return publicUser(request.user);
  }

  /** Queries so far, and RSS, after a full garbage collection with `?gc=1` (the bench starts node with --expose-gc). */
  @Get('__bench/stats')
  stats(@Query('gc') collect?: string): { queries: number; rss: number } {
    if (collect) (globalThis as { gc?: () => void }).gc?.();
    return { queries: QueryCount.count, rss: process.memoryUsage().rss };
  }
}

async function bootstrap(): Promise<void> {
  const config = demoConfigFromEnv();

  @Module({
    imports: [
      AppModule.forRoot({ ...config, database: { ...config.database, logging: ['query'], logger: new QueryCount() } }),
      JwtModule.register({ secret: BENCH_JWT_SECRET, signOptions: { algorithm: 'HS256', expiresIn: '1h' } }),
    ],
    controllers: [BenchController],
    providers: [JwtAuthGuard, ReferenceGuard],
  })
  class BenchServerModule {}

  const app = await NestFactory.create(BenchServerModule, createHttpAdapter(config.httpAdapter ?? 'express'), { ...DEMO_APP_OPTIONS, logger: ['error', 'warn'] });
  configureDemoApp(app);
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 0));
  // Not through Logger: the log levels above leave out its plain messages.
  process.stdout.write(`Bench server listening on ${await app.getUrl()}\n`);
}

void bootstrap();
