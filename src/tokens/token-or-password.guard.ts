import { Injectable } from '@nestjs/common';
import { AccessTokenGuard, type AuthenticatableRequest } from 'nestjs-access-tokens';
import { UsersService } from '../users/users.service.js';

/**
 * Authenticates by an access token, or by HTTP Basic user name and password: how a client that
 * has no token yet gets its first one (`curl -u alice:secret -X POST .../tokens/generate`).
 */
@Injectable()
export class TokenOrPasswordGuard extends AccessTokenGuard {
  protected override readonly challengeSchemes = ['Basic', 'Bearer'] as const;

  constructor(private readonly users: UsersService) {
    super();
  }

  /** The route is `@Public()` for the global token guard; this guard still applies to it. */
  protected override isPublic(): boolean {
    return false;
  }

  protected override async authenticatePassword(
    request: AuthenticatableRequest,
    username: string,
    password: string,
  ): Promise<void> {
    request.user = await this.users.checkPassword(username, password);
  }
}
