export { AccessToken, type AccessTokenKind } from './storage/access-token.entity.js';
export { AccessTokenEvents, type AccessTokenEventMap, type AccessTokenEventName } from './access-token.events.js';
export { AccessTokenGuard } from './edge/access-token.guard.js';
export { AccessTokensAuthGuard } from './edge/access-tokens-auth.guard.js';
export { AccessTokenStrategy } from './edge/access-token.strategy.js';
export type {
  AccessTokensModuleOptions,
  AccessTokensUserOptions,
  CacheBusOptions,
  CacheOptions,
  CredentialOptions,
  MaintenanceOptions,
  PasswordOptions,
  PasswordThrottleOptions,
  RevocationOptions,
  SessionOptions,
  TokenOptions,
} from './access-tokens-options.interface.js';
export { ACCESS_TOKENS_DEFAULTS } from './options/defaults.js';
export {
  ACCESS_TOKEN_STRATEGY,
  BLOCKED,
  CREDENTIALS_CHANGED,
  LOGGED_OUT,
  PASSWORD_GRANT_METADATA,
  PUBLIC_ROUTE_METADATA,
  REFRESHED,
  REFRESH_TOKEN_REUSED,
  REVOKED_BY_SECRET,
  REVOKED_BY_USER,
  ROTATED,
  SCOPES_METADATA,
  USER_DELETED,
} from './access-tokens.constants.js';
export { CurrentToken, CurrentUser, Public } from './edge/access-tokens.decorators.js';
export { AllowPassword } from './edge/allow-password.decorator.js';
export { PasswordGrantService } from './password/password-grant.service.js';
export type { PasswordAttemptRecord, PasswordAttemptStore } from './password/password-attempts.js';
export { ROUTES_DEFAULTS, type AccessTokensRoutesOptions } from './routes/access-tokens-routes.options.js';
export type { CreatedToken, GeneratedToken } from './routes/token-routes.controller.js';
export type { TokenPair } from './routes/session-routes.controller.js';
export {
  AccessTokenError,
  AccessTokensError,
  CacheBusUnavailableError,
  InsufficientScopeError,
  InvalidCredentialsError,
  InvalidExpiryError,
  InvalidOptionsError,
  InvalidPaginationError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTokenNameError,
  MissingCredentialsError,
  NotASessionError,
  StoreUnavailableError,
  TokenNotFoundError,
  TokenNotLiveError,
  TooManyAttemptsError,
  TooManyTokensError,
  UserBlockedError,
  UserNotFoundError,
  type AccessTokenErrorCode,
} from './core/access-tokens.errors.js';
export { AccessTokensExceptionFilter } from './edge/access-tokens.filter.js';
export { AccessTokensGraphQLError, AccessTokensHttpException } from './edge/access-tokens-http.exception.js';
export type {
  AccessTokenView,
  AuthenticatableRequest,
  IssueTokenContext,
  IssueTokenInput,
  IssuedAccessToken,
  ListTokensOptions,
  RotateTokenOptions,
  SessionTokens,
  TokenPage,
  UserId,
  VerifiedAccessToken,
} from './access-tokens.interfaces.js';
export { ACCESS_TOKENS_MODULE_OPTIONS, type AccessTokensModuleExtras } from './access-tokens.module-definition.js';
export { AccessTokensModule } from './access-tokens.module.js';
export { systemClock, type Clock } from './core/clock.js';
export { readCredentials, type CredentialSources, type PresentedCredentials } from './edge/credentials.js';
export { CreateAccessTokens1763800000000 } from './storage/migrations/1763800000000-create-access-tokens.js';
export { Scopes } from './edge/scopes.decorator.js';
export { SessionsService } from './sessions.service.js';
export { ScopesGuard } from './edge/scopes.guard.js';
export type { ScopeRequirement } from './core/scopes.js';
export type { CacheBusState } from './cache/cache-bus.js';
export { isDatabaseUnavailable, isTransactionConflict } from './storage/outage.js';
export { TokensService } from './tokens.service.js';
