import { SetMetadata } from '@nestjs/common';

/** Metadata key of routes that check a password. */
export const CREDENTIAL_ATTEMPT = 'demo:credential-attempt';

/** Where a route reads the user name whose password it checks. */
export type CredentialSource = 'body' | 'basic';

/**
 * Marks a route that checks a password, for `CredentialsThrottlingModule` to throttle, and says
 * where it reads the user name: attempts count against the account the route checks, whatever
 * else the request carries. Kept apart from the throttler so that code which imports controllers
 * does not load it.
 */
export const CredentialAttempt = (from: CredentialSource): MethodDecorator & ClassDecorator => SetMetadata(CREDENTIAL_ATTEMPT, from);
