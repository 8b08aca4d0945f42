import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject } from '@nestjs/swagger';
import { addAccessTokensSecurity, createAccessTokensDocument } from 'nestjs-access-tokens/swagger';

/** The app's OpenAPI document, served at /docs (and /docs-json): its own routes and the module's ready-made ones. */
export function openApiDocument(app: INestApplication): Promise<OpenAPIObject> {
  const config = addAccessTokensSecurity(new DocumentBuilder().setTitle('Reports API').setVersion('1.0'), app).build();
  return createAccessTokensDocument(app, config);
}
