/**
 * The names `nestjs-access-tokens/swagger` gives its parts of an OpenAPI document, for an app that
 * refers to them in its own decorators (`@ApiSecurity(ACCESS_TOKEN_SECURITY_SCHEMES.bearer)`).
 */
export const ACCESS_TOKEN_SECURITY_SCHEMES = {
  /** `Authorization: Bearer <token>`. */
  bearer: 'accessToken',
  /** HTTP Basic with the token as the user name and an empty password (`curl http://TOKEN:@host/`). */
  basic: 'accessTokenBasic',
  /** The token in the query parameter; only when the module allows it (`credentials.queryParameter`). */
  query: 'accessTokenQuery',
} as const;

/** The name of the schema of a refusal's JSON body (401, 403, 400) in `components.schemas`. */
export const ACCESS_TOKENS_REFUSAL_SCHEMA = 'AccessTokensRefusal';

/** The name of the schema of Nest's answer to bad input (a pipe's `BadRequestException`) in `components.schemas`. */
export const INVALID_INPUT_SCHEMA = 'InvalidInput';
