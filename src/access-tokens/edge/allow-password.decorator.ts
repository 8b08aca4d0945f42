import { SetMetadata } from '@nestjs/common';
import { PASSWORD_GRANT_METADATA } from '../access-tokens.internal-constants.js';

/**
 * Lets a route (or every route of a controller, or a resolver) authenticate by HTTP Basic user
 * name and password as well as by an access token: how a client that has no token yet gets its
 * first one. `AccessTokenGuard` checks the password with bcrypt against `user.passwordHashField`
 * (`PasswordGrantService`), throttled per account and per client (`passwords.throttle`), and
 * refuses a wrong password, an unknown user, a blocked user and a user without a password alike:
 * the same 401, after the same bcrypt work. The user lands on `request.user` (`@CurrentUser()`);
 * `@CurrentToken()` is then `undefined`. A 401 without credentials offers both schemes.
 *
 * `@Public()` wins over it: a public route authenticates nobody.
 *
 * @example
 * @AllowPassword()
 * @Post('tokens/first')
 * first(@CurrentUser() user: User, @CurrentToken() token: VerifiedAccessToken | undefined) { ... }
 * // curl -u 'alice:correct horse battery' -X POST localhost:3000/tokens/first
 */
export const AllowPassword = (): ClassDecorator & MethodDecorator => SetMetadata(PASSWORD_GRANT_METADATA, true);
