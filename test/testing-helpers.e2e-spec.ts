import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource, type DataSourceOptions, type Repository } from 'typeorm';
import {
  AccessToken,
  AccessTokenGuard,
  AccessTokensModule,
  CurrentToken,
  CurrentUser,
  Public,
  Scopes,
  ScopesGuard,
  TokensService,
  type AccessTokensModuleOptions,
  type VerifiedAccessToken,
} from 'nestjs-access-tokens';
import { actingAs, ManualClock, revokeActingAs } from 'nestjs-access-tokens/testing';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { Member } from './fixtures/fixture-app.module.js';
import { createAppOn, HTTP_ADAPTERS, type HttpAdapterName } from './fixtures/http-adapters.js';
import { TEST_SECRET } from './fixtures/secrets.js';

@Controller()
class MembersController {
  @Public()
  @Get('health')
  health() {
    return { status: 'ok' };
  }

  @Get('me')
  me(@CurrentUser() member: Member, @CurrentToken() token: VerifiedAccessToken) {
    return { memberId: member.memberId, login: member.login, token: token.accessToken.name, scopes: token.scopes };
  }

  @Scopes('reports:read')
  @Get('reports')
  reports(@CurrentUser() member: Member) {
    return { owner: member.memberId };
  }
}

/** An app as users write one: both guards app-wide (`APP_GUARD`), which `overrideGuard()` cannot replace. */
@Module({})
class GuardedAppModule {
  static forRoot(database: DataSourceOptions, tokens: Partial<AccessTokensModuleOptions>): DynamicModule {
    return {
      module: GuardedAppModule,
      imports: [
        TypeOrmModule.forRoot({ ...database, entities: [Member, AccessToken], synchronize: true }),
        AccessTokensModule.forRoot({
          secret: TEST_SECRET,
          ...tokens,
          user: {
            entity: Member,
            idField: 'memberId',
            usernameField: 'login',
            passwordHashField: 'secret',
            blockedField: 'disabled',
            permissions: (member: Member) => member.grants,
          },
        }),
      ],
      controllers: [MembersController],
      providers: [
        { provide: APP_GUARD, useClass: AccessTokenGuard },
        { provide: APP_GUARD, useClass: ScopesGuard },
      ],
    };
  }
}

async function start(
  database: TestDatabase,
  adapter: HttpAdapterName,
  tokens: Partial<AccessTokensModuleOptions> = {},
): Promise<{ moduleRef: TestingModule; app: INestApplication }> {
  const moduleRef = await Test.createTestingModule({
    imports: [GuardedAppModule.forRoot(database.options, tokens)],
  }).compile();
  return { moduleRef, app: await createAppOn(moduleRef, adapter, { logger: false }) };
}

describe.each(HTTP_ADAPTERS)(
  `actingAs() against app-wide guards on $server, on ${testDatabaseKind()}`,
  ({ adapter }) => {
    const clock = new ManualClock();
    let database: TestDatabase;
    let moduleRef: TestingModule;
    let app: INestApplication;
    let http: ReturnType<typeof request>;
    let members: Repository<Member>;
    let member: Member;
    let seq = 0;

    beforeAll(async () => {
      database = await createTestDatabase();
      ({ moduleRef, app } = await start(database, adapter, { clock }));
      http = request(app.getHttpServer());
      members = app.get(DataSource).getRepository(Member);
    });

    afterAll(async () => {
      await app?.close();
      await database?.drop();
    });

    async function newMember(grants = ['reports:read', 'profile:read']): Promise<Member> {
      seq += 1;
      return members.save({
        memberId: `m-${seq}`,
        login: `member${seq}`,
        secret: 'hash',
        disabled: false,
        bio: null,
        grants,
      });
    }

    beforeEach(async () => {
      member = await newMember();
    });

    it('gives a Bearer header of a real token that @CurrentUser() and @CurrentToken() see as production does', async () => {
      const authorization = await actingAs(app, member);
      expect(authorization).toMatch(/^Bearer nat_[0-9A-Za-z]{83}$/);
      await http
        .get('/me')
        .set('Authorization', authorization)
        .expect(200, {
          memberId: member.memberId,
          login: member.login,
          token: 'actingAs',
          scopes: ['reports:read', 'profile:read'],
        });
      // A real token of the user: TokensService lists it, by the name given.
      await actingAs(app, member, { name: 'as in the test' });
      const listed = await app.get(TokensService).list(member.memberId);
      expect(listed.map((token) => token.name).sort()).toEqual(['actingAs', 'as in the test']);
    });

    it('passes a scoped route with the scope and answers 403 insufficient_scope without it', async () => {
      await http
        .get('/reports')
        .set('Authorization', await actingAs(app, member, { scopes: ['reports:read'] }))
        .expect(200, { owner: member.memberId });
      const refused = await http
        .get('/reports')
        .set('Authorization', await actingAs(app, member, { scopes: ['profile:read'] }))
        .expect(403);
      expect(refused.headers['www-authenticate']).toContain('error="insufficient_scope"');
      expect(refused.headers['www-authenticate']).toContain('scope="reports:read"');
      // Without scopes, everything the user may do, as a token issued with none.
      await http
        .get('/reports')
        .set('Authorization', await actingAs(app, member))
        .expect(200);
      // The guards are the real ones: no header, no entry.
      await http.get('/reports').expect(401);
      await http.get('/health').expect(200);
    });

    it("takes the user's id as well as the entity, and a TestingModule as well as the app", async () => {
      const byId = await actingAs(moduleRef, member.memberId, { scopes: ['reports:read'] });
      await http.get('/me').set('Authorization', byId).expect(200);
      await http.get('/reports').set('Authorization', byId).expect(200, { owner: member.memberId });
    });

    it('loads the user anew: a stale copy in the test is acted as the user is now', async () => {
      const stale = { ...member };
      member.login = 'renamed';
      await members.save(member);
      // Issued with the copy the test kept, the token is of the user as stored now.
      const response = await http
        .get('/me')
        .set('Authorization', await actingAs(app, stale))
        .expect(200);
      expect(response.body).toMatchObject({ memberId: member.memberId, login: 'renamed' });
    });

    it('is refused once the user is blocked, as any token of theirs', async () => {
      const authorization = await actingAs(app, member);
      await http.get('/me').set('Authorization', authorization).expect(200);
      member.disabled = true;
      await members.save(member);
      const refused = await http.get('/me').set('Authorization', authorization).expect(401);
      expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(refused.body).toMatchObject({ reason: 'user_blocked' });
      // And no new token for a blocked user.
      await expect(actingAs(app, member)).rejects.toMatchObject({
        name: 'AccountBlockedError',
        code: 'account_blocked',
      });
    });

    it("refuses scopes beyond the user's permissions, as TokensService does in production", async () => {
      await expect(actingAs(app, member, { scopes: ['reports:write'] })).rejects.toMatchObject({
        name: 'InvalidScopeError',
        code: 'invalid_scope',
        message: expect.stringContaining('reports:write'),
      });
      await expect(actingAs(app, 'm-nobody')).rejects.toMatchObject({
        name: 'UserNotFoundError',
        code: 'user_not_found',
      });
    });

    it("expires on the module's clock", async () => {
      const authorization = await actingAs(app, member, { expiresIn: 60 });
      clock.advance(59);
      await http.get('/me').set('Authorization', authorization).expect(200);
      clock.advance(1);
      const refused = await http.get('/me').set('Authorization', authorization).expect(401);
      expect(refused.body).toMatchObject({ reason: 'expired' });
    });

    it('says what to pass when called wrong', async () => {
      const bare = await Test.createTestingModule({ controllers: [MembersController] }).compile();
      await expect(actingAs(bare, member)).rejects.toMatchObject({
        name: 'InvalidOptionsError',
        message: expect.stringContaining('imports AccessTokensModule.forRoot()'),
      });
      await bare.close();
      await expect(actingAs(app, { login: member.login })).rejects.toMatchObject({
        name: 'InvalidOptionsError',
        message: expect.stringContaining('"memberId"'),
      });
      await expect(actingAs(app, member, { scope: ['reports:read'] } as never)).rejects.toMatchObject({
        name: 'InvalidOptionsError',
        message: expect.stringContaining('"scope"'),
      });
      await expect(actingAs(app, member, { scopes: 'reports:read' } as never)).rejects.toMatchObject({
        code: 'invalid_scope',
      });
    });
  },
);

describe.each(HTTP_ADAPTERS)(`revokeActingAs() on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  let first: INestApplication;
  let second: INestApplication;
  let members: Repository<Member>;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Two apps on one database, one process: each revokes only what it issued.
    first = (await start(database, adapter, { tokens: { maxPerUser: 2 } })).app;
    second = (await start(database, adapter)).app;
    members = first.get(DataSource).getRepository(Member);
  });

  afterAll(async () => {
    await first?.close();
    await second?.close();
    await database?.drop();
  });

  it("revokes the app's actingAs tokens, leaves the rest alone, and frees their places", async () => {
    const member = await members.save({
      memberId: 'm-r',
      login: 'revoker',
      secret: 'hash',
      disabled: false,
      bio: null,
      grants: ['reports:read'],
    });
    const acted = [await actingAs(first, member), await actingAs(first, member)];
    // tokens.maxPerUser is 2 in the first app: acting as the user again would hold a third.
    await expect(actingAs(first, member)).rejects.toMatchObject({
      name: 'TooManyTokensError',
      code: 'too_many_tokens',
    });
    const otherApp = await actingAs(second, member);

    await revokeActingAs(first);
    for (const authorization of acted) {
      const refused = await request(first.getHttpServer()).get('/me').set('Authorization', authorization).expect(401);
      expect(refused.body).toMatchObject({ reason: 'revoked', revokedReason: 'acting_as_ended' });
    }
    await request(second.getHttpServer()).get('/me').set('Authorization', otherApp).expect(200);
    // Revoked tokens hold no place: beside the other app's, the first may act as the user once more.
    await request(first.getHttpServer())
      .get('/me')
      .set('Authorization', await actingAs(first, member))
      .expect(200);
    await expect(actingAs(first, member)).rejects.toMatchObject({ code: 'too_many_tokens' });

    const byHand = await second.get(TokensService).issue(member.memberId, { name: 'by hand' });
    await revokeActingAs(second);
    await revokeActingAs(second);
    await request(second.getHttpServer()).get('/me').set('Authorization', otherApp).expect(401);
    await request(second.getHttpServer()).get('/me').set('Authorization', `Bearer ${byHand.token}`).expect(200);
  });
});
