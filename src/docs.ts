import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
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
  SwaggerModule.setup(DOCS_PATH, app, await createAccessTokensDocument(app, config), {
    swaggerOptions: { persistAuthorization: true },
  });
}
