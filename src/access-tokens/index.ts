export { AccessToken, type AccessTokenKind } from './access-token.entity.js';
export {
  AccessTokenEvents,
  type AccessTokenEventMap,
  type AccessTokenEventName,
} from './access-token.events.js';
export { AccessTokenGuard } from './access-token.guard.js';
export type { AuthenticatableRequest } from './access-token.authenticator.js';
export { AccessTokenStrategy } from './access-token.strategy.js';
export {
  ACCESS_TOKENS_DEFAULTS,
  type AccessTokensModuleOptions,
  type AccessTokensUserOptions,
  type CacheBusOptions,
  type CacheOptions,
} from './access-tokens-options.interface.js';
export {
  ACCESS_TOKEN_STRATEGY,
  BLOCKED,
  CREDENTIALS_CHANGED,
  LOGGED_OUT,
  PUBLIC_ROUTE_METADATA,
  REFRESHED,
  REFRESH_TOKEN_REUSED,
  REVOKED_BY_SECRET,
  REVOKED_BY_USER,
  ROTATED,
  SCOPES_METADATA,
  USER_DELETED,
} from './access-tokens.constants.js';
export { CurrentToken, CurrentUser, Public } from './access-tokens.decorators.js';
export {
  AccessTokenError,
  AccessTokensError,
  CacheBusUnavailableError,
  InsufficientScopeError,
  InvalidCredentialsError,
  InvalidExpiryError,
  InvalidOptionsError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTokenNameError,
  MissingCredentialsError,
  TokenNotFoundError,
  TokenNotLiveError,
  TooManyTokensError,
  UserNotFoundError,
  type AccessTokenErrorCode,
} from './access-tokens.errors.js';
export { AccessTokensExceptionFilter } from './access-tokens.filter.js';
export type {
  AccessTokenView,
  IssueTokenContext,
  IssueTokenInput,
  IssuedAccessToken,
  RotateTokenOptions,
  SessionTokens,
  UserId,
  VerifiedAccessToken,
} from './access-tokens.interfaces.js';
export { ACCESS_TOKENS_MODULE_OPTIONS } from './access-tokens.module-definition.js';
export { AccessTokensModule } from './access-tokens.module.js';
export { systemClock, type Clock } from './clock.js';
export { readCredentials, type CredentialSources, type PresentedCredentials } from './credentials.js';
export { CreateAccessTokens1763800000000 } from './migrations/1763800000000-create-access-tokens.js';
export { Scopes } from './scopes.decorator.js';
export { SessionsService } from './sessions.service.js';
export { ScopesGuard } from './scopes.guard.js';
export type { ScopeRequirement } from './scopes.js';
export { TokensService } from './tokens.service.js';
