import type { ExecutionContext } from '@nestjs/common';
import { AccessTokensHttpException } from './access-tokens-http.exception.js';

/** `WsException` of `@nestjs/websockets`, loaded on the first refusal in a gateway. */
type WsExceptionClass = new (error: object) => Error;
let wsException: Promise<WsExceptionClass | null> | undefined;

/**
 * Throws `refusal` the way `context` reports errors. A WebSocket gateway emits a `WsException`'s
 * error to the client as its `exception` event, and anything else as "Internal server error": so
 * there the refusal becomes a `WsException` carrying what HTTP and GraphQL say: `statusCode`,
 * `error`, `message`, and the GraphQL `extensions` (`code`, `reason`, `scope`, `revokedReason`). `@nestjs/websockets` is an optional peer, loaded only then: a gateway
 * cannot run without it.
 */
export function refuseIn(context: ExecutionContext, refusal: unknown): never | Promise<never> {
  if (context.getType<string>() !== 'ws' || !(refusal instanceof AccessTokensHttpException)) throw refusal;
  wsException ??= import('@nestjs/websockets').then(
    ({ WsException }) => WsException,
    () => null,
  );
  return wsException.then((WsException) => {
    if (!WsException) throw refusal;
    throw new WsException({ status: 'error', ...(refusal.getResponse() as object), ...refusal.extensions });
  });
}
