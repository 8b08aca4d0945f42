import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccessTokenAuthenticator } from './edge/access-token.authenticator.js';
import { AccessTokenEvents } from './access-token.events.js';
import { AccessToken } from './storage/access-token.entity.js';
import { AccessTokenGuard } from './edge/access-token.guard.js';
import { AccessTokenStrategy } from './edge/access-token.strategy.js';
import type { AccessTokensModuleOptions } from './access-tokens-options.interface.js';
import { CacheBus, cacheBusDriverProvider } from './cache/cache-bus.js';
import { CacheInvalidation } from './cache/cache-invalidation.js';
import { refusedTokensProvider, verificationCacheProvider } from './cache/token-cache.js';
import { RESOLVED_OPTIONS } from './access-tokens.internal-constants.js';
import { resolveAccessTokensOptions } from './options/resolve-options.js';
import { ACCESS_TOKENS_MODULE_OPTIONS, ConfigurableModuleClass } from './access-tokens.module-definition.js';
import { ScopesGuard } from './edge/scopes.guard.js';
import { PasswordGrantService } from './password/password-grant.service.js';
import { SessionsService } from './sessions.service.js';
import { TokenMaintenance } from './token-maintenance.service.js';
import { tokenQueriesProvider } from './storage/token-queries.js';
import { TokenChanges } from './storage/token-changes.js';
import { TokenStore } from './storage/token-store.js';
import { useRecorderProvider } from './storage/use-recorder.js';
import { TokensService } from './tokens.service.js';
import { CacheRefresher } from './verification/cache-refresher.js';
import { ScopeUses } from './verification/scope-uses.js';
import { TokenChecks } from './verification/token-checks.js';
import { TokenVerifier } from './verification/token-verifier.js';
import { TransactionHooks } from './revocation/transaction-hooks.js';
import { UserDirectory } from './storage/user-directory.service.js';
import { TeamDirectory } from './storage/team-directory.service.js';
import { TeamTokensService } from './team-tokens.service.js';
import { TeamRevocationSubscriber } from './revocation/team-revocation.subscriber.js';
import { UserRevocationSubscriber } from './revocation/user-revocation.subscriber.js';
import { UseQuota } from './storage/use-quota.js';
import { rateCounterProvider, UsageGate } from './usage/usage-gate.js';
import { AccessTokensTelemetry } from './telemetry/access-tokens.telemetry.js';

/**
 * Personal access tokens on the app's own TypeORM database.
 *
 * @example
 * AccessTokensModule.forRoot({ user: { entity: User, permissions: (user) => user.permissions } })
 * // or forRootAsync({ imports: [ConfigModule], inject: [ConfigService], useFactory: (config) => ({ ... }) })
 */
@Module({
  imports: [TypeOrmModule.forFeature([AccessToken]), PassportModule, DiscoveryModule],
  providers: [
    {
      provide: RESOLVED_OPTIONS,
      inject: [ACCESS_TOKENS_MODULE_OPTIONS],
      useFactory: (options: AccessTokensModuleOptions) => resolveAccessTokensOptions(options),
    },
    UserDirectory,
    TeamDirectory,
    AccessTokenEvents,
    TransactionHooks,
    cacheBusDriverProvider,
    CacheBus,
    verificationCacheProvider,
    refusedTokensProvider,
    CacheInvalidation,
    tokenQueriesProvider,
    useRecorderProvider,
    TokenStore,
    TokenChanges,
    TokenChecks,
    CacheRefresher,
    UseQuota,
    rateCounterProvider,
    UsageGate,
    AccessTokensTelemetry,
    ScopeUses,
    TokenVerifier,
    TokensService,
    TeamTokensService,
    SessionsService,
    TokenMaintenance,
    UserRevocationSubscriber,
    TeamRevocationSubscriber,
    AccessTokenAuthenticator,
    AccessTokenStrategy,
    PasswordGrantService,
    AccessTokenGuard,
    ScopesGuard,
  ],
  exports: [
    TokensService,
    TeamTokensService,
    SessionsService,
    PasswordGrantService,
    AccessTokenEvents,
    AccessTokenAuthenticator,
    AccessTokenGuard,
    ScopesGuard,
    RESOLVED_OPTIONS,
  ],
})
export class AccessTokensModule extends ConfigurableModuleClass {}
