import type { ExecutionContext } from '@nestjs/common';
import type { AuthenticatableRequest } from './access-token.authenticator.js';

/** The GraphQL context as Nest's drivers build it: Apollo's `{ req, res? }`, Mercurius's `{ reply }`. */
interface GraphQLContext {
  req?: AuthenticatableRequest;
  res?: unknown;
  reply?: { request?: AuthenticatableRequest };
}

/**
 * The HTTP request behind an execution context: an HTTP route's own, or that of a GraphQL
 * operation (Apollo on Express or Fastify, Mercurius), read without importing `@nestjs/graphql`.
 * `undefined` where there is none (a WebSocket gateway, a microservice).
 */
export function requestOf(context: ExecutionContext): AuthenticatableRequest | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest<AuthenticatableRequest>();
  if (type !== 'graphql') return undefined;
  const graphql = context.getArgByIndex<GraphQLContext | undefined>(2);
  return graphql?.req ?? graphql?.reply?.request;
}

/** The HTTP response behind an execution context, where there is one to set headers on. */
export function responseOf(context: ExecutionContext): unknown {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getResponse<unknown>();
  if (type !== 'graphql') return undefined;
  const graphql = context.getArgByIndex<GraphQLContext | undefined>(2);
  return graphql?.res ?? graphql?.reply;
}
