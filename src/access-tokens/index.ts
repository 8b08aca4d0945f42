/**
 * `nestjs-access-tokens`: what an app writes against. The module and its services, guards,
 * decorators and errors, and the types of their inputs and results. The ready-made routes' DTOs are
 * in `nestjs-access-tokens/routes`, test helpers in `/testing`, OpenAPI in `/swagger`, GraphQL's
 * query cost limit in `/graphql`, the command line in `/cli`.
 */
export { AccessTokensModule } from './access-tokens.module.js';
export type { AccessTokensModuleExtras } from './access-tokens.module-definition.js';
export type {
  AccessTokensModuleOptions,
  AccessTokensTeamOptions,
  AccessTokensUserOptions,
} from './access-tokens-options.interface.js';
export { TokensService } from './tokens.service.js';
export { TeamTokensService, type TeamId } from './team-tokens.service.js';
export { SessionsService } from './sessions.service.js';
export { PasswordGrantService } from './password/password-grant.service.js';
export type { PasswordAttemptRecord, PasswordAttemptStore } from './password/password-attempts.js';

export { AccessTokenGuard } from './edge/access-token.guard.js';
export { AccessTokensAuthGuard } from './edge/access-tokens-auth.guard.js';
export { AccessTokenStrategy } from './edge/access-token.strategy.js';
export { ScopesGuard } from './edge/scopes.guard.js';
export { Scopes } from './edge/scopes.decorator.js';
export { CurrentOwner, CurrentToken, CurrentUser, Public } from './edge/access-tokens.decorators.js';
export { TokenOwners, type TokenOwnerKind } from './edge/token-owners.decorator.js';
export { AllowPassword } from './edge/allow-password.decorator.js';
export {
  ACCESS_TOKEN_EVENTS,
  ACCESS_TOKEN_STRATEGY,
  REVOCATION_REASONS,
  type RevocationReason,
} from './access-tokens.constants.js';

export * as errors from './core/access-tokens.errors.js';
export type { AccessTokensErrorCode } from './core/access-tokens.errors.js';
export { AccessTokensExceptionFilter } from './edge/access-tokens.filter.js';
export { AccessTokensHttpException } from './edge/access-tokens-http.exception.js';
export { isDatabaseUnavailable, isTransactionConflict } from './storage/outage.js';

export { AccessToken, type TokenMetadata, type TokenMetadataValue } from './storage/access-token.entity.js';
export { CreateAccessTokens1763800000000 } from './storage/migrations/1763800000000-create-access-tokens.js';
export { AddTokenUsagePolicy1765000000000 } from './storage/migrations/1765000000000-add-token-usage-policy.js';
export { AddTokenOwnersAndAudit1766000000000 } from './storage/migrations/1766000000000-add-token-owners-and-audit.js';
export { AccessTokenEvents, type AccessTokenEventMap } from './access-token.events.js';
export type { Clock } from './core/clock.js';
export type { ScopeRequirement } from './core/scopes.js';
export type {
  AccessTokenView,
  AuthenticatableRequest,
  IssueTokenContext,
  IssueTokenInput,
  IssuedAccessToken,
  ListTokensOptions,
  RotateTokenOptions,
  PresentingRequest,
  SessionTokens,
  TokenOwner,
  TokenPage,
  UpdateTokenInput,
  UserId,
  VerifiedAccessToken,
} from './access-tokens.interfaces.js';
export type { RateLimit, TokenUsagePolicy } from './usage/usage-policy.js';
