import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import type { FastifyInstance } from 'fastify';
import { addAccessTokensSecurity, createAccessTokensDocument } from 'nestjs-access-tokens/swagger';

/** Where the demo serves Swagger UI; the OpenAPI document is beside it, at `/docs-json`. */
export const DOCS_PATH = 'docs';

/**
 * Serves the demo's OpenAPI document and Swagger UI, on Express and Fastify (through
 * `@fastify/static`). Before the app is initialised, as Nest's routes and Fastify's plugins must
 * be; the document is built now, so that a route it cannot describe stops the demo at start-up.
 */
export async function serveDemoDocs(app: INestApplication): Promise<void> {
  const config = addAccessTokensSecurity(
    new DocumentBuilder()
      // 3.1: the scopes a route's security requirement lists are role names, which 3.0 allows only for OAuth and OpenID Connect.
      .setOpenAPIVersion('3.1.0')
      .setTitle('nestjs-access-tokens demo')
      .setDescription(
        'Users, personal access tokens and login sessions. Get a first token with a password (HTTP Basic) ' +
          'from `POST /tokens/generate`, then authorize with it as a Bearer token.',
      ),
    app,
  ).build();
  secureDocsPages(app);
  // A token pasted into "Authorize" stays in the page's memory: persisted, it would sit in
  // localStorage for any script of the origin to read, after the tab is closed.
  SwaggerModule.setup(DOCS_PATH, app, await createAccessTokensDocument(app, config), {
    swaggerOptions: { persistAuthorization: false },
  });
}

/**
 * What a browser may do with Swagger UI: the settings page's policy (src/settings-page), but for
 * the inline styles and data: images Swagger UI's own markup uses; its scripts are files of its own.
 */
export const DOCS_CSP =
  "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";

const DOCS_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': DOCS_CSP,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Sets `DOCS_HEADERS` on Swagger UI's page and files (not on `/docs-json`), on Express and Fastify. */
function secureDocsPages(app: INestApplication): void {
  // Asked of every request the demo serves: a prefix check, with nothing allocated.
  const prefix = `/${DOCS_PATH}`;
  const isDocs = (url: string) =>
    url.startsWith(prefix) &&
    (url.length === prefix.length || url[prefix.length] === '/' || url[prefix.length] === '?');
  const adapter = app.getHttpAdapter();
  if (adapter.getType() === 'fastify') {
    (adapter.getInstance() as FastifyInstance).addHook('onRequest', async (request, reply) => {
      if (isDocs(request.url)) void reply.headers(DOCS_HEADERS);
    });
    return;
  }
  app.use((request: Request, response: Response, next: NextFunction) => {
    if (isDocs(request.url)) response.set(DOCS_HEADERS);
    next();
  });
}
