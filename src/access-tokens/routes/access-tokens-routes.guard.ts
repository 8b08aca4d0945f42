import { Injectable, type ExecutionContext } from '@nestjs/common';
import { authenticatedUserOf } from '../edge/access-token.authenticator.js';
import { AccessTokenGuard } from '../edge/access-token.guard.js';

/**
 * `AccessTokenGuard` on the ready-made routes, so that they need no guard of the app's. An HTTP
 * request that a global `AccessTokenGuard` already authenticated goes through: its token is not
 * verified twice, nor its password checked (and counted) twice.
 */
@Injectable()
export class AccessTokensRoutesGuard extends AccessTokenGuard {
  override canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    // HTTP only: a gateway's request stands for its whole connection, checked again at each message.
    if (context.getType() === 'http' && authenticatedUserOf(this.getRequest(context)) !== undefined) return true;
    return super.canActivate(context);
  }
}
