import { SetMetadata } from '@nestjs/common';

/** Metadata key of routes that check a password. */
export const CREDENTIAL_ATTEMPT = 'demo:credential-attempt';

/**
 * Where a route reads the user name whose password it checks: the JSON body's `username`, the
 * HTTP Basic user name, or a GraphQL operation's `username` argument.
 */
export type CredentialSource = 'body' | 'basic' | 'args';

/**
 * Marks a route or a GraphQL resolver that checks a password, for `CredentialsThrottlingModule` to
 * throttle, and says where it reads the user name: attempts count against the account it checks,
 * whatever else the request carries, and over REST and GraphQL alike. Kept apart from the
 * throttler so that code which imports controllers and resolvers does not load it.
 */
export const CredentialAttempt = (from: CredentialSource): MethodDecorator & ClassDecorator => SetMetadata(CREDENTIAL_ATTEMPT, from);
