import { Catch, HttpException, Logger, type ArgumentsHost } from '@nestjs/common';
import type { GqlContextType } from '@nestjs/graphql';
import { GraphQLError } from 'graphql';
import { isDatabaseUnavailable, isTransactionConflict } from 'nestjs-access-tokens';
import { GRAPHQL_ERROR_CODES } from 'nestjs-access-tokens/graphql';
import { DatabaseOutageFilter } from '../outage.filter.js';

/**
 * The demo's catch-all exception filter, in place of `DatabaseOutageFilter`: that filter's answers
 * over HTTP, and in a GraphQL resolver, where it would write an HTTP answer on the GraphQL
 * context (a 500), the GraphQL error a client can act on:
 * - an `HttpException` (a body the DTO refuses, a logout with a personal token, a throttled
 *   login) as its message and `extensions.code` for its status (`BAD_REQUEST`, `TOO_MANY_REQUESTS`,
 *   …), with the extensions it carries (`retryAfter`);
 * - the database away or busy as `SERVICE_UNAVAILABLE`;
 * - anything else as `INTERNAL_SERVER_ERROR`, logged, its message kept from the client as over HTTP.
 *
 * The module's refusals and domain errors never come here: its own filter answers them, with their
 * extensions (`reason`, `scope`).
 */
@Catch()
export class GraphQLExceptionFilter extends DatabaseOutageFilter {
  private readonly logger = new Logger('GraphQL');

  override catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType<GqlContextType>() !== 'graphql') return super.catch(error, host);
    throw this.toGraphQLError(error);
  }

  protected toGraphQLError(error: unknown): GraphQLError {
    if (error instanceof GraphQLError) return error;
    if (error instanceof HttpException) {
      const body = error.getResponse();
      const messages = typeof body === 'object' && body !== null ? (body as { message?: unknown }).message : undefined;
      // class-validator's messages are a list, one per broken rule.
      const message = Array.isArray(messages) ? messages.join('; ') : error.message;
      const own = (error as { extensions?: unknown }).extensions;
      return new GraphQLError(message, {
        originalError: error,
        extensions: {
          code: GRAPHQL_ERROR_CODES[error.getStatus()] ?? 'INTERNAL_SERVER_ERROR',
          ...(typeof own === 'object' ? own : {}),
        },
      });
    }
    if (isDatabaseUnavailable(error) || isTransactionConflict(error)) {
      return new GraphQLError('The database is unavailable or busy: try again shortly', {
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      });
    }
    this.logger.error(error);
    return new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  }
}
