import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { UseGuards, type INestApplication } from '@nestjs/common';
import { Field, GraphQLModule, ObjectType, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DataSource } from 'typeorm';
import {
  AccessTokenGuard,
  AccessTokensModule,
  CurrentToken,
  CurrentUser,
  Scopes,
  ScopesGuard,
  TokensService,
  type VerifiedAccessToken,
} from 'nestjs-access-tokens';
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

@Resolver(() => Report)
class ReportsResolver {
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
}

interface GraphQLAnswer {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: (string | number)[]; extensions: Record<string, unknown> }[];
}

describe(`GraphQL with Apollo, on ${testDatabaseKind()}`, () => {
  let database: TestDatabase;
  let app: INestApplication;
  let tokens: TokensService;

  beforeAll(async () => {
    database = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [
        FixtureAppModule.forRoot(database.options, AccessTokensModule.forRoot(FIXTURE_OPTIONS)),
        // Guards on a field's resolver run only when asked for.
        GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, fieldResolverEnhancers: ['guards'] }),
      ],
      providers: [ReportsResolver],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    tokens = app.get(TokensService);
    await app.get(DataSource).getRepository(Member).insert({ memberId: 'm-gql', login: 'gql', secret: 'x', disabled: false, grants: ['reports:*'] });
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

  it('authenticates a resolver by the Bearer token, with @CurrentUser() and @CurrentToken()', async () => {
    const { token } = await tokens.issue('m-gql', { name: 'gql', scopes: ['reports:read'] });
    expect(await ask('{ me { memberId scopes } }', `Bearer ${token}`)).toEqual({ data: { me: { memberId: 'm-gql', scopes: ['reports:read'] } } });
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
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'revoked', revokedReason: 'revoked_by_user' });
    expect(JSON.stringify(answer)).not.toContain(token.slice(4));
  });

  it('refuses a missing scope with FORBIDDEN and the scope', async () => {
    const { token } = await tokens.issue('m-gql', { name: 'no reports', scopes: ['reports:export'] });
    const answer = await ask('{ reports { id } }', `Bearer ${token}`);
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'insufficient_scope', scope: 'reports:read' });
  });

  it('refuses a field that needs a scope the token lacks, and that field only', async () => {
    const { token } = await tokens.issue('m-gql', { name: 'read only', scopes: ['reports:read'] });
    const answer = await ask('{ reports { id export } }', `Bearer ${token}`);
    expect(answer.data).toEqual({ reports: [{ id: 'r1', export: null }] });
    expect(answer.errors).toHaveLength(1);
    expect(answer.errors?.[0]).toMatchObject({ path: ['reports', 0, 'export'], extensions: { code: 'FORBIDDEN', scope: 'reports:export' } });
    const both = await tokens.issue('m-gql', { name: 'both', scopes: ['reports:read', 'reports:export'] });
    expect(await ask('{ reports { id export } }', `Bearer ${both.token}`)).toEqual({ data: { reports: [{ id: 'r1', export: 'exported' }] } });
  });
});
