import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  type ExecutionContext,
  type INestApplication,
  type Provider,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import { PassportStrategy } from '@nestjs/passport';
import { Test } from '@nestjs/testing';
import { ExtractJwt, Strategy } from 'passport-jwt';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  AccessTokenGuard,
  AccessTokensAuthGuard,
  AccessTokensModule,
  CurrentUser,
  Public,
  Scopes,
  ScopesGuard,
  TokensService,
  type AuthenticatableRequest,
} from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, FixtureAppModule, Member } from './fixtures/fixture-app.module.js';
import { createAppOn, HTTP_ADAPTERS } from './fixtures/http-adapters.js';

const JWT_SECRET = 'composition-spec-secret-that-is-long-enough';

/** What the app's passport-jwt strategy puts on the request. */
interface JwtUser {
  subject: string;
  scopes: string[];
}

@Injectable()
class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor() {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: JWT_SECRET, algorithms: ['HS256'] });
  }

  validate(payload: { sub: string; scopes?: string[] }): JwtUser {
    return { subject: payload.sub, scopes: payload.scopes ?? [] };
  }
}

/** The documented hook: scopes from the access token, else from the JWT. */
@Injectable()
class AppScopesGuard extends ScopesGuard {
  protected override scopesOf(
    request: AuthenticatableRequest,
    context: ExecutionContext,
  ): readonly string[] | undefined {
    return super.scopesOf(request, context) ?? (request.user as JwtUser | undefined)?.scopes;
  }
}

@Controller()
class CompositionController {
  @Public()
  @Get('open')
  open() {
    return { open: true };
  }

  @Get('whoami')
  whoami(@CurrentUser() user: Member | JwtUser) {
    return 'memberId' in user ? { member: user.memberId } : { jwt: user.subject };
  }

  @Scopes('reports:read')
  @Get('scoped')
  reports() {
    return ['r1'];
  }
}

/** The two documented ways to run the module beside passport-jwt. */
const RECIPES: { name: string; foreign: 'refuse' | 'pass'; guards: Provider[] }[] = [
  {
    name: "AccessTokenGuard passing foreign credentials, then AccessTokensAuthGuard('jwt')",
    foreign: 'pass',
    guards: [
      { provide: APP_GUARD, useClass: AccessTokenGuard },
      { provide: APP_GUARD, useClass: AccessTokensAuthGuard('jwt') },
      { provide: APP_GUARD, useClass: AppScopesGuard },
    ],
  },
  {
    name: "AccessTokensAuthGuard(['access-token', 'jwt'])",
    foreign: 'refuse',
    guards: [
      { provide: APP_GUARD, useClass: AccessTokensAuthGuard(['access-token', 'jwt']) },
      { provide: APP_GUARD, useClass: AppScopesGuard },
    ],
  },
];

const CASES = RECIPES.flatMap((recipe) => HTTP_ADAPTERS.map((server) => ({ ...recipe, ...server })));

describe.each(CASES)(
  `beside passport-jwt: $name, on $server, on ${testDatabaseKind()}`,
  ({ foreign, guards, adapter }) => {
    let database: TestDatabase;
    let app: INestApplication;
    let tokens: TokensService;
    const jwt = new JwtService({ secret: JWT_SECRET, signOptions: { algorithm: 'HS256', expiresIn: '1h' } });

    beforeAll(async () => {
      database = await createTestDatabase();
      const moduleRef = await Test.createTestingModule({
        imports: [
          FixtureAppModule.forRoot(
            database.options,
            AccessTokensModule.forRoot({
              ...FIXTURE_OPTIONS,
              credentials: { ...FIXTURE_OPTIONS.credentials, foreign },
            }),
          ),
        ],
        controllers: [CompositionController],
        providers: [JwtStrategy, ...guards],
      }).compile();
      app = await createAppOn(moduleRef, adapter, { logger: false });
      tokens = app.get(TokensService);
      await app
        .get(DataSource)
        .getRepository(Member)
        .insert({ memberId: 'm-jwt', login: 'jwt', secret: 'x', disabled: false, grants: ['reports:*'] });
    });

    afterAll(async () => {
      await app?.close();
      await database?.drop();
    });

    const get = (path: string, authorization?: string) => {
      const call = request(app.getHttpServer()).get(path);
      return authorization ? call.set('Authorization', authorization) : call;
    };

    it("authenticates this module's tokens and JWTs alike", async () => {
      const { token } = await tokens.issue('m-jwt', { name: 'composition' });
      expect((await get('/whoami', `Bearer ${token}`).expect(200)).body).toEqual({ member: 'm-jwt' });
      expect((await get('/whoami', `Bearer ${jwt.sign({ sub: 'jwt-user' })}`).expect(200)).body).toEqual({
        jwt: 'jwt-user',
      });
    });

    it("checks @Scopes() against a JWT's scopes through the ScopesGuard hook", async () => {
      await get('/scoped', `Bearer ${jwt.sign({ sub: 'jwt-user', scopes: ['reports:read'] })}`).expect(200);
      const refused = await get('/scoped', `Bearer ${jwt.sign({ sub: 'jwt-user', scopes: [] })}`).expect(403);
      expect(refused.headers['www-authenticate']).toContain('error="insufficient_scope"');
      expect(refused.headers['www-authenticate']).toContain('scope="reports:read"');
    });

    it('answers the RFC 6750 challenge when no credentials come, or none is accepted', async () => {
      const missing = await get('/whoami').expect(401);
      expect(missing.headers['www-authenticate']).toBe('Bearer realm="fixture"');
      expect(missing.body).toMatchObject({ reason: 'credentials_missing' });
      const forged = jwt.sign({ sub: 'jwt-user' }, { secret: 'another-secret-that-is-long-enough-too' });
      const refused = await get('/whoami', `Bearer ${forged}`).expect(401);
      expect(refused.headers['www-authenticate']).toMatch(/^Bearer realm="fixture", error="invalid_token"/);
      const otherScheme = await get('/whoami', 'Digest username="x"').expect(401);
      expect(otherScheme.headers['www-authenticate']).toMatch(/^Bearer realm="fixture"/);
    });

    it("says why one of this module's tokens is refused, without trying it as a JWT", async () => {
      const { token, accessToken } = await tokens.issue('m-jwt', { name: 'revoked' });
      await tokens.revoke('m-jwt', accessToken.id);
      const revoked = await get('/whoami', `Bearer ${token}`).expect(401);
      expect(revoked.body).toMatchObject({ reason: 'revoked', revokedReason: 'revoked_by_user' });
      expect(revoked.headers['www-authenticate']).toContain('error="invalid_token"');
      const malformed = await get('/whoami', 'Bearer fx_notatokenatall').expect(401);
      expect(malformed.body).toMatchObject({ reason: 'malformed' });
    });

    it('lets @Public() routes through without credentials', async () => {
      await get('/open').expect(200);
    });
  },
);

describe('a global AccessTokenGuard that refuses foreign credentials (the default)', () => {
  let database: TestDatabase;
  let app: INestApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [FixtureAppModule.forRoot(database.options, AccessTokensModule.forRoot(FIXTURE_OPTIONS))],
      controllers: [CompositionController],
      providers: [JwtStrategy, { provide: APP_GUARD, useClass: AccessTokenGuard }],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('refuses a JWT as a malformed token, so that nothing unauthenticated reaches a route', async () => {
    const jwt = new JwtService({ secret: JWT_SECRET }).sign({ sub: 'jwt-user' });
    const refused = await request(app.getHttpServer()).get('/whoami').set('Authorization', `Bearer ${jwt}`).expect(401);
    expect(refused.body).toMatchObject({ reason: 'malformed' });
  });
});
