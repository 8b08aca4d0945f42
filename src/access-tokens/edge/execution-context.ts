import type { ArgumentsHost, ExecutionContext } from '@nestjs/common';
import type { AuthenticatableRequest } from '../access-tokens.interfaces.js';

/** The GraphQL context as Nest's drivers build it: Apollo's `{ req, res? }`, Mercurius's `{ reply }`. */
interface GraphQLContext {
  req?: AuthenticatableRequest;
  res?: unknown;
  reply?: { request?: AuthenticatableRequest };
}

/** What a socket.io socket keeps of the request that opened it. */
interface Handshake {
  headers?: Record<string, string | string[] | undefined>;
  /** The client's address, as socket.io reports it (behind a proxy, the proxy's). */
  address?: string;
  query?: unknown;
  auth?: { token?: unknown };
}

/**
 * Each WebSocket connection's request, built once from its handshake: the socket.io client sends
 * the token as the `Authorization` header (Node clients) or as `auth.token` (browsers, which
 * cannot set headers on a WebSocket). A guard verifies it again on every message, so a revoked
 * token stops working on the connection's next message.
 */
const socketRequests = new WeakMap<object, AuthenticatableRequest>();

function socketRequestOf(client: unknown): AuthenticatableRequest | undefined {
  if (typeof client !== 'object' || client === null) return undefined;
  let request = socketRequests.get(client);
  if (request) return request;
  const handshake = (client as { handshake?: Handshake }).handshake;
  if (!handshake) return undefined;
  const header = handshake.headers?.authorization;
  const token = handshake.auth?.token;
  request = {
    headers: {
      authorization: token === undefined ? header : fromAuthToken(token, header),
      // What an alert or the audit trail reports of the client.
      'user-agent': handshake.headers?.['user-agent'],
    },
    query: handshake.query,
    ip: handshake.address,
  };
  socketRequests.set(client, request);
  return request;
}

/**
 * `auth.token` as an `Authorization` header: a bare token is a Bearer one. Anything else than one
 * string, or a token sent both ways, reads as a malformed header, which is refused as a bad request.
 */
function fromAuthToken(token: unknown, header: string | string[] | undefined): string {
  if (typeof token !== 'string' || header !== undefined) return 'Bearer';
  return /^bearer /i.test(token) ? token : `Bearer ${token}`;
}

/**
 * The request behind an execution context: an HTTP route's own, that of a GraphQL operation
 * (Apollo on Express or Fastify, Mercurius), or a socket.io connection's handshake, read without
 * importing `@nestjs/graphql` or `@nestjs/websockets`. `undefined` where there is none (a
 * microservice).
 */
export function requestOf(context: ExecutionContext): AuthenticatableRequest | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest<AuthenticatableRequest>();
  if (type === 'ws') return socketRequestOf(context.switchToWs().getClient<unknown>());
  if (type !== 'graphql') return undefined;
  const graphql = context.getArgByIndex<GraphQLContext | undefined>(2);
  return graphql?.req ?? graphql?.reply?.request;
}

/**
 * The HTTP response behind an execution context (or an exception filter's arguments host), where
 * there is one to set headers on.
 */
export function responseOf(context: ResponseHost): unknown {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getResponse<unknown>();
  if (type !== 'graphql') return undefined;
  const graphql = context.getArgByIndex<GraphQLContext | undefined>(2);
  return graphql?.res ?? graphql?.reply;
}

/**
 * What the request path reads of an `ArgumentsHost` to reach the response: its type, and the
 * response of an HTTP request or of a GraphQL operation. Any `ExecutionContext` is one.
 */
export type ResponseHost = Pick<ArgumentsHost, 'getType' | 'switchToHttp' | 'getArgByIndex'>;

/**
 * An HTTP request and its response as a `ResponseHost`, for a caller Nest gives no context: the
 * Passport strategy, which has the request (and on Express, its response as `request.res`).
 */
export function httpHostOf(request: object, response: object): ResponseHost {
  const args = [request, response];
  return {
    getType: <T extends string>() => 'http' as T,
    getArgByIndex: <T>(index: number) => args[index] as T,
    switchToHttp: () => ({
      getRequest: <T>() => request as T,
      getResponse: <T>() => response as T,
      getNext: <T>() => undefined as T,
    }),
  };
}
