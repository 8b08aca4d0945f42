/**
 * `nestjs-access-tokens/swagger`: the module's routes in an OpenAPI document, with
 * `@nestjs/swagger` (an optional peer, which only this entry loads), and the models of its answers
 * for an app's own routes (`@ApiOkResponse({ type: AccessTokenViewModel, isArray: true })`).
 *
 * @example
 * const config = addAccessTokensSecurity(new DocumentBuilder().setTitle('My API'), app).build();
 * SwaggerModule.setup('docs', app, await createAccessTokensDocument(app, config));
 */
export { createAccessTokensDocument, type AccessTokensDocumentOptions } from './access-tokens-document.js';
export {
  ACCESS_TOKEN_SECURITY_SCHEMES,
  ACCESS_TOKENS_REFUSAL_SCHEMA,
  INVALID_INPUT_SCHEMA,
} from './openapi.constants.js';
export { AccessTokenViewModel, CreatedTokenModel, GeneratedTokenModel, TokenPairModel } from './response-models.js';
export { addAccessTokensSecurity, type AccessTokensSecurityOptions } from './security-schemes.js';
