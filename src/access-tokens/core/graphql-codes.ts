/**
 * GraphQL's usual `extensions.code` for each HTTP status a refusal or an app's error can have, as
 * Apollo names them: what a GraphQL client reads where an HTTP client reads the status.
 */
export const GRAPHQL_ERROR_CODES: Readonly<Record<number, string>> = Object.freeze({
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
});
