import {
  BadRequestException,
  PayloadTooLargeException,
  type INestApplication,
  type NestApplicationOptions,
} from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { FastifyInstance } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/** The HTTP servers the demo runs on: HTTP_ADAPTER picks one, Express unless told. */
export type DemoHttpAdapter = 'express' | 'fastify';
export const DEMO_HTTP_ADAPTERS: readonly DemoHttpAdapter[] = ['express', 'fastify'];

/** The most a JSON body may nest: the demo's bodies are flat. */
const MAX_JSON_DEPTH = 32;
/** The largest JSON body: well above any of the demo's, far below what costs to parse. */
const MAX_JSON_BYTES = 16 * 1024;

/** Options of the demo's Nest application: its own JSON parser (below) replaces Nest's, on either server. */
export const DEMO_APP_OPTIONS = { bodyParser: false } satisfies NestApplicationOptions;

/** A body-parser error: a status, and a `type` that says which. */
interface BodyError {
  status?: number;
  type?: string;
}

class TooDeepError extends Error {
  readonly status = 400;
  readonly type = 'entity.too.deep';
}

/**
 * Refuses a body nested deeper than `MAX_JSON_DEPTH`, before it is parsed: one pass over the bytes.
 * A deep body costs little to parse but overflows the stack of the validation that walks it
 * (measured: 5,000 levels, a 500 after 45 ms of blocked event loop).
 */
function refuseDeepJson(body: { readonly length: number; readonly [index: number]: number }): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === 0x5c)
        i++; // a backslash escapes the next byte
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) throw new TooDeepError(`JSON body nested deeper than ${MAX_JSON_DEPTH}`);
    } else if (byte === 0x7d || byte === 0x5d) {
      depth--;
    }
  }
}

const BODY_ERRORS: Record<string, string> = {
  'entity.parse.failed': 'invalid JSON body',
  'entity.too.deep': `JSON body nested deeper than ${MAX_JSON_DEPTH} levels`,
  'entity.too.large': `request body larger than ${MAX_JSON_BYTES} bytes`,
};

/**
 * Answers a body the parser refused with a fixed message: the parser's own would echo the body
 * back to the client.
 */
function answerBodyErrors(error: unknown, _request: Request, response: Response, next: NextFunction): void {
  const { status, type } = (error ?? {}) as BodyError;
  if (typeof status !== 'number' || status < 400 || status >= 500 || typeof type !== 'string') return next(error);
  const message = BODY_ERRORS[type] ?? 'unreadable request body';
  response
    .status(status)
    .json({ statusCode: status, error: status === 413 ? 'Payload Too Large' : 'Bad Request', message });
}

/**
 * Fastify's JSON parser, behind the same depth check, reading bodies as Express's parser does and
 * answering a body it refuses with a fixed message. Nest answers an `HttpException` a parser fails
 * with as it is; a plain error, with a 500.
 */
function parseJsonOnFastify(server: FastifyInstance): void {
  const parse = server.getDefaultJsonParser('error', 'error');
  server.removeContentTypeParser('application/json');
  server.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: MAX_JSON_BYTES },
    (request, body, done) => {
      const bytes = body as Buffer;
      // No body under a JSON content type is an empty object on Express, where Fastify's parser
      // refuses it: clients that always send the header (a POST /tokens/generate without options).
      if (bytes.length === 0) return done(null, {});
      try {
        refuseDeepJson(bytes);
      } catch {
        return done(new BadRequestException(BODY_ERRORS['entity.too.deep']), undefined);
      }
      // Fastify's default parser takes the buffer too (secure-json-parse reads either). Only an
      // object or an array is a body, as on Express (its parser's strict mode): Fastify's would
      // take `null` for no body at all.
      parse(request, bytes as unknown as string, (error, parsed) =>
        error || parsed === null || typeof parsed !== 'object'
          ? done(new BadRequestException(BODY_ERRORS['entity.parse.failed']), undefined)
          : done(null, parsed),
      );
    },
  );
}

/**
 * Fastify refuses a body over its limit before any parser runs, and Nest answers that with
 * Fastify's message: this one answers it with the Express side's.
 */
class DemoFastifyAdapter extends FastifyAdapter {
  override mapException(error: unknown): unknown {
    if ((error as { code?: unknown } | null)?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return new PayloadTooLargeException(BODY_ERRORS['entity.too.large'], { cause: error });
    }
    return super.mapException(error);
  }
}

/**
 * Answers a request Node's parser refused (a header over 16 KB, a malformed request line, a
 * timeout) and closes the connection, saying so as Node's own handler does. Fastify's default
 * answers without `Connection: close` and then destroys the socket, so a keep-alive client sent
 * its next request on a connection about to be reset (ECONNRESET).
 */
function closeOnClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request header fields too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request timeout']
        : [400, 'Bad request'];
  const body = JSON.stringify({ statusCode: status, error: STATUS_CODES[status], message });
  if (!socket.writable) return void socket.destroy(error);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The server the demo runs on, its body size limit set. */
export function createHttpAdapter(adapter: DemoHttpAdapter): AbstractHttpAdapter {
  return adapter === 'fastify'
    ? new DemoFastifyAdapter({ bodyLimit: MAX_JSON_BYTES, clientErrorHandler: closeOnClientError })
    : new ExpressAdapter(express());
}

/**
 * What the demo's HTTP server does before Nest routes a request: no `X-Powered-By`, and JSON bodies
 * limited in size and depth before they are parsed, refused with fixed messages.
 */
export function configureDemoApp(app: INestApplication): void {
  const adapter = app.getHttpAdapter();
  if (adapter.getType() === 'fastify') return parseJsonOnFastify(adapter.getInstance() as FastifyInstance);
  const server = adapter.getInstance() as express.Express;
  server.disable('x-powered-by');
  app.use(express.json({ limit: MAX_JSON_BYTES, verify: (_request, _response, body) => refuseDeepJson(body) }));
  app.use(answerBodyErrors);
}
