import { SetMetadata } from '@nestjs/common';

/** Metadata key of routes that check a password. */
export const CREDENTIAL_ATTEMPT = 'demo:credential-attempt';

/**
 * Marks a route that checks a password, for `CredentialsThrottlingModule` to throttle. Kept apart
 * from the throttler so that code which imports controllers does not load it.
 */
export const CredentialAttempt = (): MethodDecorator & ClassDecorator => SetMetadata(CREDENTIAL_ATTEMPT, true);
