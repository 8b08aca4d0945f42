import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { HttpException, type DynamicModule } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import type { MercuriusDriverConfig } from '@nestjs/mercurius';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import mercurius, { type MercuriusContext, type MercuriusError } from 'mercurius';
import { queryCostLimit } from 'nestjs-access-tokens/graphql';
import type { DemoHttpAdapter } from '../http.js';
import { AuthResolver } from './auth.resolver.js';
import { DeferredMercuriusDriver } from './deferred-mercurius.driver.js';
import { TokensResolver } from './tokens.resolver.js';
import { UsersResolver } from './users.resolver.js';

/** The demo's resolvers; `AppModule` provides them beside the services they call. */
export const GRAPHQL_RESOLVERS = [AuthResolver, UsersResolver, TokensResolver];

/**
 * Mercurius answers every error of its route as GraphQL, a body that Fastify or the demo's parser
 * refused included (with Fastify's message, or status 200): those go on to the app's error handler,
 * answered as on every route, and as on Express, where the parser refuses them before Apollo sees
 * the request. GraphQL's own (a query that does not parse) Mercurius answers as it does by default.
 */
function answerBodyErrorsAsRoutesDo(error: MercuriusError, _request: FastifyRequest, reply: FastifyReply): void {
  const code = (error as { code?: unknown }).code;
  if (error instanceof HttpException || (typeof code === 'string' && code.startsWith('FST_ERR_CTP_'))) throw error;
  const graphqlError =
    error instanceof GraphQLError ? error : new GraphQLError(error.message, { originalError: error });
  const { statusCode, response } = mercurius.defaultErrorFormatter({ errors: [graphqlError] }, {
    reply,
  } as MercuriusContext);
  void reply.code(statusCode).send(response);
}

/**
 * `/graphql`, code first, the schema built in memory at start: Apollo on Express, Mercurius on
 * Fastify. A document over the default depth, field, alias or list-cost limits is refused before
 * anything runs (`queryCostLimit`): one query with hundreds of aliases of `tokens(limit: 100)`
 * otherwise returns tens of thousands of rows.
 */
export function demoGraphQLModule(adapter: DemoHttpAdapter): DynamicModule {
  if (adapter === 'fastify') {
    return GraphQLModule.forRoot<MercuriusDriverConfig>({
      driver: DeferredMercuriusDriver,
      autoSchemaFile: true,
      sortSchema: true,
      errorHandler: answerBodyErrorsAsRoutesDo,
      validationRules: [queryCostLimit()],
    });
  }
  return GraphQLModule.forRoot<ApolloDriverConfig>({
    driver: ApolloDriver,
    autoSchemaFile: true,
    sortSchema: true,
    // The response too, for the throttler's Retry-After and the guards' WWW-Authenticate.
    context: ({ req, res }: { req: unknown; res: unknown }) => ({ req, res }),
    // Apollo shows stacks unless NODE_ENV is production or test; the REST side never does.
    includeStacktraceInErrorResponses: false,
    validationRules: [queryCostLimit()],
  });
}
