import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UseGuards, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { AddressInfo } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { DataSource } from 'typeorm';
import {
  AccessTokenGuard,
  AccessTokensModule,
  CurrentToken,
  CurrentUser,
  Public,
  Scopes,
  ScopesGuard,
  TokensService,
  type VerifiedAccessToken,
} from 'nestjs-access-tokens';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, FixtureAppModule, Member } from './fixtures/fixture-app.module.js';
import { createAppOn, HTTP_ADAPTERS } from './fixtures/http-adapters.js';

@UseGuards(AccessTokenGuard, ScopesGuard)
@WebSocketGateway()
class ReportsGateway {
  @SubscribeMessage('whoami')
  whoami(@CurrentUser() member: Member, @CurrentToken() token: VerifiedAccessToken) {
    return { memberId: member.memberId, scopes: token.scopes };
  }

  @Scopes('reports:read')
  @SubscribeMessage('reports')
  reports() {
    return ['r1'];
  }

  @Public()
  @SubscribeMessage('ping')
  ping() {
    return 'pong';
  }
}

/** What Nest's gateway filter emits for a refused message. */
interface Refusal {
  status: string;
  statusCode: number;
  code: string;
  reason: string;
  message: string;
  scope?: string;
  revokedReason?: string;
}

describe.each(HTTP_ADAPTERS)(`a socket.io gateway on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let database: TestDatabase;
  let app: INestApplication;
  let tokens: TokensService;
  let url: string;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [FixtureAppModule.forRoot(database.options, AccessTokensModule.forRoot(FIXTURE_OPTIONS))],
      providers: [ReportsGateway],
    }).compile();
    app = await createAppOn(moduleRef, adapter, { logger: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    tokens = app.get(TokensService);
    await app
      .get(DataSource)
      .getRepository(Member)
      .insert({ memberId: 'm-ws', login: 'ws', secret: 'x', disabled: false, grants: ['reports:*'] });
  });

  afterAll(async () => {
    sockets.forEach((socket) => socket.disconnect());
    await app?.close();
    await database?.drop();
  });

  async function connect(
    options: { authorization?: string; token?: unknown; userAgent?: string } = {},
  ): Promise<Socket> {
    const socket = io(url, {
      transports: ['websocket'],
      extraHeaders: {
        ...(options.authorization && { authorization: options.authorization }),
        ...(options.userAgent && { 'user-agent': options.userAgent }),
      },
      auth: options.token === undefined ? {} : { token: options.token },
    });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  }

  /** The answer to a message: its acknowledgement, or the `exception` event of a refusal. */
  function send(socket: Socket, event: string): Promise<{ ack: unknown } | { refusal: Refusal }> {
    return new Promise((resolve) => {
      const onException = (refusal: Refusal) => resolve({ refusal });
      socket.once('exception', onException);
      socket.emit(event, {}, (ack: unknown) => {
        socket.off('exception', onException);
        resolve({ ack });
      });
    });
  }

  it('accepts the token from the handshake, as an Authorization header or as auth.token', async () => {
    const { token } = await tokens.issue('m-ws', { name: 'ws', scopes: ['reports:read'] });
    expect(await send(await connect({ authorization: `Bearer ${token}` }), 'whoami')).toEqual({
      ack: { memberId: 'm-ws', scopes: ['reports:read'] },
    });
    expect(await send(await connect({ token }), 'whoami')).toEqual({
      ack: { memberId: 'm-ws', scopes: ['reports:read'] },
    });
    expect(await send(await connect({ token }), 'reports')).toEqual({ ack: ['r1'] });
  });

  it.each([
    ['no token', {}, 'UNAUTHENTICATED', 'credentials_missing'],
    ['a garbage token', { token: 'fx_garbage' }, 'UNAUTHENTICATED', 'malformed'],
    ['an auth.token that is not a string', { token: 42 }, 'BAD_REQUEST', 'invalid_request'],
    ['a malformed header', { authorization: 'Bearer a b' }, 'BAD_REQUEST', 'invalid_request'],
  ])(
    'refuses a message on a connection with %s, with an exception event that says why',
    async (_name, options, code, reason) => {
      const socket = await connect(options);
      const answer = await send(socket, 'whoami');
      expect(answer).toEqual({ refusal: expect.objectContaining({ status: 'error', code, reason }) });
      // The connection stays, and a @Public() message is still answered.
      expect(await send(socket, 'ping')).toEqual({ ack: 'pong' });
    },
  );

  it("records the handshake's address and user agent with the use, and the scope a message exercised", async () => {
    const { token, accessToken } = await tokens.issue('m-ws', {
      name: 'ws audit',
      scopes: ['reports:read', 'reports:export'],
    });
    expect(await send(await connect({ token, userAgent: 'ws-client/1.0' }), 'reports')).toEqual({ ack: ['r1'] });
    await tokens.flushUses();
    expect((await tokens.list('m-ws')).find((view) => view.id === accessToken.id)).toMatchObject({
      lastUsedIp: '127.0.0.1',
      lastUsedUserAgent: 'ws-client/1.0',
      unusedScopes: ['reports:export'],
    });
  });

  it('refuses a message that needs a scope the token lacks, naming the scope', async () => {
    const { token } = await tokens.issue('m-ws', { name: 'no reports', scopes: ['reports:export'] });
    const answer = await send(await connect({ token }), 'reports');
    expect(answer).toEqual({
      refusal: expect.objectContaining({
        statusCode: 403,
        code: 'FORBIDDEN',
        reason: 'insufficient_scope',
        scope: 'reports:read',
      }),
    });
  });

  it('refuses the next message of a connection whose token was revoked, and never shows the token', async () => {
    const { token, accessToken } = await tokens.issue('m-ws', { name: 'revoked mid-connection' });
    const socket = await connect({ token });
    expect(await send(socket, 'whoami')).toEqual({ ack: expect.objectContaining({ memberId: 'm-ws' }) });
    await tokens.revoke('m-ws', accessToken.id);
    const answer = await send(socket, 'whoami');
    expect(answer).toEqual({
      refusal: expect.objectContaining({
        statusCode: 401,
        code: 'UNAUTHENTICATED',
        reason: 'revoked',
        revokedReason: 'revoked_by_user',
      }),
    });
    expect(JSON.stringify(answer)).not.toContain(token.slice(3));
  });

  it("applies a token's usage policy to each message: pause, allowed addresses, rate limit and uses", async () => {
    const paused = await tokens.issue('m-ws', { name: 'paused mid-connection' });
    const socket = await connect({ token: paused.token });
    await tokens.pause('m-ws', paused.accessToken.id);
    expect(await send(socket, 'whoami')).toEqual({
      refusal: expect.objectContaining({ statusCode: 401, code: 'UNAUTHENTICATED', reason: 'paused' }),
    });
    // The handshake's address is the client's: a token for other addresses is refused, one for it is not.
    const elsewhere = await tokens.issue('m-ws', { name: 'elsewhere', allowedIps: ['192.0.2.0/24'] });
    expect(await send(await connect({ token: elsewhere.token }), 'whoami')).toEqual({
      refusal: expect.objectContaining({ statusCode: 403, code: 'FORBIDDEN', reason: 'ip_not_allowed' }),
    });
    const local = await tokens.issue('m-ws', { name: 'local', allowedIps: ['127.0.0.1'] });
    expect(await send(await connect({ token: local.token }), 'whoami')).toEqual({ ack: expect.anything() });
    const limited = await tokens.issue('m-ws', { name: 'limited', rateLimit: { limit: 1, window: 60 }, maxUses: 5 });
    const limitedSocket = await connect({ token: limited.token });
    expect(await send(limitedSocket, 'whoami')).toEqual({ ack: expect.anything() });
    expect(await send(limitedSocket, 'whoami')).toEqual({
      refusal: expect.objectContaining({ statusCode: 429, code: 'TOO_MANY_REQUESTS', reason: 'rate_limited' }),
    });
    const once = await tokens.issue('m-ws', { name: 'once', maxUses: 1 });
    const onceSocket = await connect({ token: once.token });
    expect(await send(onceSocket, 'whoami')).toEqual({ ack: expect.anything() });
    expect(await send(onceSocket, 'whoami')).toEqual({
      refusal: expect.objectContaining({ statusCode: 403, code: 'FORBIDDEN', reason: 'uses_exhausted' }),
    });
  });
});
