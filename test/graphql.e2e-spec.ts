import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { UseGuards, type DynamicModule, type INestApplication, type Provider } from '@nestjs/common';
import { AbstractHttpAdapter, APP_GUARD } from '@nestjs/core';
import { Args, Field, GraphQLModule, Mutation, ObjectType, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
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
import { queryCostLimit } from 'nestjs-access-tokens/graphql';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from './fixtures/database.js';
import { FIXTURE_OPTIONS, FixtureAppModule, Member } from './fixtures/fixture-app.module.js';

@ObjectType()
class Me {
  @Field(() => String)
  memberId!: string;

  @Field(() => [String])
  scopes!: string[];
}

@ObjectType()
class Report {
  @Field(() => String)
  id!: string;

  /** A field with scopes of its own: refused alone, the rest of the answer stays. */
  @Field(() => String, { nullable: true })
  export?: string;
}

/** Guards per resolver: the app puts them where it wants them. */
@Resolver(() => Report)
class GuardedResolver {
  constructor(private readonly tokens: TokensService) {}

  @UseGuards(AccessTokenGuard)
  @Query(() => Me)
  me(@CurrentUser() member: Member, @CurrentToken() token: VerifiedAccessToken): Me {
    return { memberId: member.memberId, scopes: [...token.scopes] };
  }

  @UseGuards(AccessTokenGuard, ScopesGuard)
  @Scopes('reports:read')
  @Query(() => [Report])
  reports(): Report[] {
    return [{ id: 'r1' }];
  }

  @UseGuards(ScopesGuard)
  @Scopes('reports:export')
  @ResolveField(() => String, { nullable: true })
  export(): string {
    return 'exported';
  }

  /** The module's service called from a resolver: its domain errors are 4xx GraphQL errors too. */
  @UseGuards(AccessTokenGuard)
  @Mutation(() => String)
  async createToken(@CurrentUser() member: Member, @Args('scope') scope: string): Promise<string> {
    return (await this.tokens.issue(member.memberId, { name: 'from graphql', scopes: [scope] })).accessToken.id;
  }

  @UseGuards(AccessTokenGuard)
  @Mutation(() => Boolean)
  async revokeToken(@CurrentUser() member: Member, @Args('id') id: string): Promise<boolean> {
    await this.tokens.revoke(member.memberId, id);
    return true;
  }
}

/** The same operations under global guards (APP_GUARD), with nothing on the resolvers but @Public() and @Scopes(). */
@Resolver(() => Report)
class GloballyGuardedResolver {
  constructor(private readonly tokens: TokensService) {}

  @Public()
  @Query(() => String)
  hello(): string {
    return 'open';
  }

  @Query(() => Me)
  me(@CurrentUser() member: Member, @CurrentToken() token: VerifiedAccessToken): Me {
    return { memberId: member.memberId, scopes: [...token.scopes] };
  }

  @Scopes('reports:read')
  @Query(() => [Report])
  reports(): Report[] {
    return [{ id: 'r1' }];
  }

  @Scopes('reports:export')
  @ResolveField(() => String, { nullable: true })
  export(): string {
    return 'exported';
  }

  @Mutation(() => String)
  async createToken(@CurrentUser() member: Member, @Args('scope') scope: string): Promise<string> {
    return (await this.tokens.issue(member.memberId, { name: 'from graphql', scopes: [scope] })).accessToken.id;
  }

  @Mutation(() => Boolean)
  async revokeToken(@CurrentUser() member: Member, @Args('id') id: string): Promise<boolean> {
    await this.tokens.revoke(member.memberId, id);
    return true;
  }
}

// Guards on a field's resolver run only when the GraphQL module asks for them; queryCostLimit()
// refuses a document over its depth, field, alias or list-cost limits before anything runs.
const apollo = () =>
  GraphQLModule.forRoot<ApolloDriverConfig>({
    driver: ApolloDriver,
    autoSchemaFile: true,
    fieldResolverEnhancers: ['guards'],
    validationRules: [queryCostLimit({ maxAliases: 20 })],
  });
const mercurius = () =>
  GraphQLModule.forRoot<MercuriusDriverConfig>({
    driver: MercuriusDriver,
    autoSchemaFile: true,
    fieldResolverEnhancers: ['guards'],
    validationRules: [queryCostLimit({ maxAliases: 20 })],
  });

/** The GraphQL servers Nest runs: Apollo on either HTTP server, Mercurius on Fastify. */
const SERVERS = [
  { name: 'Apollo on Express', adapter: (): AbstractHttpAdapter => new ExpressAdapter(), driver: apollo },
  { name: 'Apollo on Fastify', adapter: () => new FastifyAdapter(), driver: apollo },
  { name: 'Mercurius on Fastify', adapter: () => new FastifyAdapter(), driver: mercurius },
];

const GUARDINGS: { name: string; resolver: Provider; guards: Provider[] }[] = [
  { name: 'guards per resolver', resolver: GuardedResolver, guards: [] },
  {
    name: 'global guards',
    resolver: GloballyGuardedResolver,
    guards: [
      { provide: APP_GUARD, useClass: AccessTokenGuard },
      { provide: APP_GUARD, useClass: ScopesGuard },
    ],
  },
];

/** The fixture app with `graphql` on `adapter`, started, and its member `m-gql`, granted `reports:*`. */
async function startGraphQLApp(
  database: TestDatabase,
  graphql: DynamicModule,
  adapter: AbstractHttpAdapter,
  providers: Provider[],
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [FixtureAppModule.forRoot(database.options, AccessTokensModule.forRoot(FIXTURE_OPTIONS)), graphql],
    providers,
  }).compile();
  const app = moduleRef.createNestApplication(adapter, { logger: false });
  await app.init();
  if (app.getHttpAdapter().getType() === 'fastify')
    await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
  await app
    .get(DataSource)
    .getRepository(Member)
    .insert({ memberId: 'm-gql', login: 'gql', secret: 'x', disabled: false, grants: ['reports:*'] });
  return app;
}

interface GraphQLAnswer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions: Record<string, unknown> }[];
}

const CASES = SERVERS.flatMap((server) => GUARDINGS.map((guarding) => ({ ...server, guarding })));

describe.each(CASES)(`GraphQL, $name, $guarding.name, on ${testDatabaseKind()}`, ({ adapter, driver, guarding }) => {
  let database: TestDatabase;
  let app: INestApplication;
  let tokens: TokensService;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startGraphQLApp(database, driver(), adapter(), [guarding.resolver, ...guarding.guards]);
    tokens = app.get(TokensService);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  async function ask(query: string, authorization?: string): Promise<GraphQLAnswer> {
    const call = request(app.getHttpServer()).post('/graphql').send({ query });
    const response = await (authorization ? call.set('Authorization', authorization) : call);
    return response.body as GraphQLAnswer;
  }

  if (guarding.guards.length > 0) {
    it('lets a @Public() operation through the global guard without a token', async () => {
      expect(await ask('{ hello }')).toEqual({ data: { hello: 'open' } });
    });
  }

  it('refuses a document over its cost limits before any guard or resolver runs', async () => {
    const { token } = await tokens.issue('m-gql', { name: 'gql', scopes: ['reports:read'] });
    const aliases = `{ ${Array.from({ length: 21 }, (_, index) => `r${index}: reports { id }`).join(' ')} }`;
    const answer = await ask(aliases);
    expect(answer.data ?? null).toBeNull();
    expect(answer.errors).toEqual([
      expect.objectContaining({ message: 'The operation uses more than 20 aliases: ask for less in one request' }),
    ]);
    expect(answer.errors![0]!.extensions).toMatchObject({ reason: 'query_too_costly', limit: 'maxAliases', max: 20 });
    // Under the limit, the same operation reaches the guards and resolvers.
    expect((await ask('{ a: reports { id } b: reports { id } }', `Bearer ${token}`)).errors).toBeUndefined();
  });

  it('authenticates a resolver by the Bearer token, with @CurrentUser() and @CurrentToken()', async () => {
    const { token } = await tokens.issue('m-gql', { name: 'gql', scopes: ['reports:read'] });
    expect(await ask('{ me { memberId scopes } }', `Bearer ${token}`)).toEqual({
      data: { me: { memberId: 'm-gql', scopes: ['reports:read'] } },
    });
  });

  it.each([
    ['no token', undefined, 'UNAUTHENTICATED', 'credentials_missing'],
    ['a garbage token', 'Bearer fx_garbage', 'UNAUTHENTICATED', 'malformed'],
    ['a malformed header', 'Bearer a b', 'BAD_REQUEST', 'invalid_request'],
  ])('refuses %s as a GraphQL error, never INTERNAL_SERVER_ERROR', async (_name, authorization, code, reason) => {
    const answer = await ask('{ me { memberId } }', authorization);
    expect(answer.data).toBeNull();
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code, reason });
  });

  it('says why a revoked token is refused, and never shows the token', async () => {
    const { token, accessToken } = await tokens.issue('m-gql', { name: 'revoked' });
    await tokens.revoke('m-gql', accessToken.id);
    const answer = await ask('{ me { memberId } }', `Bearer ${token}`);
    expect(answer.errors?.[0]?.extensions).toMatchObject({
      code: 'UNAUTHENTICATED',
      reason: 'revoked',
      revokedReason: 'revoked_by_user',
    });
    expect(JSON.stringify(answer)).not.toContain(token.slice(4));
  });

  it('refuses a missing scope with FORBIDDEN and the scope', async () => {
    const { token } = await tokens.issue('m-gql', { name: 'no reports', scopes: ['reports:export'] });
    const answer = await ask('{ reports { id } }', `Bearer ${token}`);
    expect(answer.errors?.[0]?.extensions).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'insufficient_scope',
      scope: 'reports:read',
    });
  });

  it('refuses a field that needs a scope the token lacks, and that field only', async () => {
    const { token } = await tokens.issue('m-gql', { name: 'read only', scopes: ['reports:read'] });
    const answer = await ask('{ reports { id export } }', `Bearer ${token}`);
    expect(answer.data).toEqual({ reports: [{ id: 'r1', export: null }] });
    expect(answer.errors).toHaveLength(1);
    expect(answer.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN', scope: 'reports:export' } });
    // Mercurius writes the list index as a string.
    expect(answer.errors?.[0]?.path?.map(String)).toEqual(['reports', '0', 'export']);
    const both = await tokens.issue('m-gql', { name: 'both', scopes: ['reports:read', 'reports:export'] });
    expect(await ask('{ reports { id export } }', `Bearer ${both.token}`)).toEqual({
      data: { reports: [{ id: 'r1', export: 'exported' }] },
    });
  });

  it('takes the token from the query parameter where the app allows it', async () => {
    const { token } = await tokens.issue('m-gql', { name: 'by query' });
    const response = await request(app.getHttpServer())
      .post(`/graphql?access_token=${token}`)
      .send({ query: '{ me { memberId } }' });
    expect(response.body).toEqual({ data: { me: { memberId: 'm-gql' } } });
  });

  it("refuses by a token's usage policy with the reason; over its rate limit TOO_MANY_REQUESTS and retryAfter, on the servers' default settings", async () => {
    const me = '{ me { memberId } }';
    const paused = await tokens.issue('m-gql', { name: 'paused' });
    await tokens.pause('m-gql', paused.accessToken.id);
    const elsewhere = await tokens.issue('m-gql', { name: 'elsewhere', allowedIps: ['203.0.113.0/24'] });
    const once = await tokens.issue('m-gql', { name: 'once', maxUses: 1 });
    const limited = await tokens.issue('m-gql', { name: 'limited', rateLimit: { limit: 1, window: 60 } });
    for (const { token } of [once, limited])
      expect(await ask(me, `Bearer ${token}`)).toEqual({ data: { me: { memberId: 'm-gql' } } });

    const refusals = await Promise.all(
      [paused, elsewhere, once, limited].map(async ({ token }) => {
        const answer = await ask(me, `Bearer ${token}`);
        expect(answer.data ?? null).toBeNull();
        expect(JSON.stringify(answer)).not.toContain(token.slice(4));
        return answer.errors?.[0]?.extensions;
      }),
    );
    expect(refusals).toEqual([
      expect.objectContaining({ code: 'UNAUTHENTICATED', reason: 'paused' }),
      expect.objectContaining({ code: 'FORBIDDEN', reason: 'ip_not_allowed' }),
      expect.objectContaining({ code: 'FORBIDDEN', reason: 'uses_exhausted' }),
      expect.objectContaining({ code: 'TOO_MANY_REQUESTS', reason: 'rate_limited', retryAfter: expect.any(Number) }),
    ]);
    expect(refusals[3]!.retryAfter).toBeGreaterThan(0);
    expect(refusals[3]!.retryAfter).toBeLessThanOrEqual(60);
  });

  it("counts one operation once against its token's quota and rate limit, however many fields its guards run for", async () => {
    const { token, accessToken } = await tokens.issue('m-gql', {
      name: 'counted',
      scopes: ['reports:*'],
      maxUses: 3,
      rateLimit: { limit: 2, window: 60 },
    });
    // Two top-level fields (run in parallel), each with a guarded field of its own.
    const operation = '{ a: me { memberId } b: me { memberId } r: reports { id export } s: reports { id } }';
    const first = await ask(operation, `Bearer ${token}`);
    expect(first.errors).toBeUndefined();
    expect((await tokens.list('m-gql')).find((view) => view.id === accessToken.id)?.usesLeft).toBe(2);
    // The rate limit of 2 a minute lets a second operation through too.
    expect((await ask(operation, `Bearer ${token}`)).errors).toBeUndefined();
    expect((await tokens.list('m-gql')).find((view) => view.id === accessToken.id)?.usesLeft).toBe(1);
    expect((await ask(operation, `Bearer ${token}`)).errors?.[0]?.extensions).toMatchObject({ reason: 'rate_limited' });
  });

  it("answers the module's domain errors in a resolver as 4xx GraphQL errors", async () => {
    const { token } = await tokens.issue('m-gql', { name: 'creator', scopes: ['reports:read'] });
    const answer = await ask('mutation { createToken(scope: "not a scope!") }', `Bearer ${token}`);
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_REQUEST', reason: 'invalid_scope' });
    expect(answer.errors?.[0]?.message).toMatch(/scope/);
  });

  it("answers those beyond 400, 401 and 403 with their own code too, on the servers' default settings", async () => {
    // Apollo's default formatter makes an HttpException of any other status an INTERNAL_SERVER_ERROR.
    const { token } = await tokens.issue('m-gql', { name: 'revoker' });
    const answer = await ask(`mutation { revokeToken(id: "${randomUUID()}") }`, `Bearer ${token}`);
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', reason: 'token_not_found' });
    expect(answer.data ?? null).toBeNull();
  });
});

describe(`GraphQL, Apollo on Fastify with the reply in its context, on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  let app: INestApplication;

  beforeAll(async () => {
    database = await createTestDatabase();
    const graphql = GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      autoSchemaFile: true,
      // Apollo's Fastify integration calls the context with the request and its reply.
      context: (request: unknown, reply: unknown) => ({ req: request, reply }),
    });
    app = await startGraphQLApp(database, graphql, new FastifyAdapter(), [GuardedResolver]);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it("sets the rate limit's headers and a refusal's challenge on the answer", async () => {
    const { token } = await app
      .get(TokensService)
      .issue('m-gql', { name: 'limited', rateLimit: { limit: 1, window: 60 } });
    const ask = () =>
      request(app.getHttpServer())
        .post('/graphql')
        .set('Authorization', `Bearer ${token}`)
        .send({ query: '{ me { memberId } }' });
    const answered = await ask();
    expect(answered.headers['ratelimit-policy']).toBe('"token";q=1;w=60');
    expect(answered.headers.ratelimit).toMatch(/^"token";r=0;t=\d+$/);
    const refused = await ask();
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    const revoked = await request(app.getHttpServer())
      .post('/graphql')
      .set('Authorization', 'Bearer fx_garbage')
      .send({ query: '{ me { memberId } }' });
    expect(revoked.headers['www-authenticate']).toMatch(/^Bearer /);
  });
});
