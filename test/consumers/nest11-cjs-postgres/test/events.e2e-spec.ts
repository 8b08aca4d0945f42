import { randomUUID } from 'node:crypto';
import { INestApplication, Injectable } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { App } from 'supertest/types';
import { ACCESS_TOKEN_EVENTS, AccessTokenEventMap, TokensService } from 'nestjs-access-tokens';
import { AppModule } from './../src/app.module';
import { configureApp } from './../src/configure';
import { UsersService } from './../src/users/users.service';

/** What an app of its own would write: @OnEvent() methods on the module's events. */
@Injectable()
class TokenAlerts {
  readonly issued: AccessTokenEventMap['issued'][] = [];
  readonly canaries: AccessTokenEventMap['canary_used'][] = [];

  @OnEvent(ACCESS_TOKEN_EVENTS.issued)
  onIssued(event: AccessTokenEventMap['issued']) {
    this.issued.push(event);
  }

  @OnEvent('access-tokens.canary_used')
  onCanary(event: AccessTokenEventMap['canary_used']) {
    this.canaries.push(event);
  }
}

// NestJS 11, CommonJS, with @nestjs/event-emitter 3: the module finds the app's EventEmitter2 at
// start-up without importing the package from its main entry.
describe('The module events through @nestjs/event-emitter 3 (e2e)', () => {
  let app: INestApplication<App>;
  let tokens: TokensService;
  let alerts: TokenAlerts;
  let userId: string;

  beforeAll(async () => {
    const moduleFixture = await Test.createTestingModule({
      imports: [AppModule, EventEmitterModule.forRoot()],
      providers: [TokenAlerts],
    }).compile();
    app = moduleFixture.createNestApplication({ logger: false });
    configureApp(app);
    await app.init();
    tokens = app.get(TokensService);
    alerts = app.get(TokenAlerts);
    const user = await app
      .get(UsersService)
      .create(`eve-${randomUUID()}@example.com`, 'correct horse battery', ['reports:read']);
    userId = user.uuid;
  });

  afterAll(async () => {
    await app?.close();
  });

  it('announces an issued token to @OnEvent() methods, after commit', async () => {
    const { accessToken } = await tokens.issue(userId, { name: 'evented', metadata: { team: 'ops' } });
    expect(alerts.issued).toContainEqual(expect.objectContaining({ userId, tokenId: accessToken.id, name: 'evented' }));
    expect(accessToken.metadata).toEqual({ team: 'ops' });
  });

  it('answers a canary like an unknown token, and raises canary_used with the address and user agent', async () => {
    const { token, accessToken } = await tokens.issue(userId, { name: 'in the wiki', canary: true });
    const answer = await request(app.getHttpServer())
      .get('/me')
      .set('Authorization', `Bearer ${token}`)
      .set('User-Agent', 'scraper/1.0')
      .expect(401);
    expect(answer.body.reason).toBe('unknown');
    expect(alerts.canaries).toEqual([
      expect.objectContaining({ tokenId: accessToken.id, name: 'in the wiki', userAgent: 'scraper/1.0' }),
    ]);
    expect(JSON.stringify(alerts.canaries)).not.toContain(token);
  });
});
