import { BadRequestException, Injectable } from '@nestjs/common';
import {
  PasswordGrantService,
  SessionsService,
  type AuthenticatableRequest,
  type SessionTokens,
  type VerifiedAccessToken,
} from 'nestjs-access-tokens';
import { publicUser, type User } from '../users/user.entity.js';

/** What a client keeps of a session: the pair of tokens, and how long the access token lasts. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

const pair = ({ accessToken, refreshToken, expiresIn }: SessionTokens): TokenPair => ({
  accessToken,
  refreshToken,
  expiresIn,
});

/**
 * Login sessions for the GraphQL mutations; the REST routes (`/auth/…`) are the module's own
 * (`forRoot({ routes })`), and answer the same.
 */
@Injectable()
export class AuthService {
  constructor(
    private readonly passwords: PasswordGrantService,
    private readonly sessions: SessionsService,
  ) {}

  /**
   * A session for the user of that name and password, and who they are; `InvalidCredentialsError`
   * (401) for a wrong password, an unknown name or a blocked user alike, `TooManyAttemptsError`
   * (429) past the throttling's limits, which count this attempt with those of `POST /auth/login`
   * and `POST /tokens/generate`.
   *
   * @param request the HTTP request the operation came in, for the count of its client.
   */
  async login(
    username: string,
    password: string,
    request?: AuthenticatableRequest,
  ): Promise<TokenPair & { user: ReturnType<typeof publicUser> }> {
    const user = await this.passwords.authenticate<User>(username, password, request);
    // The user as its password was checked: a change racing this login leaves the session unusable.
    return { ...pair(await this.sessions.start(user)), user: publicUser(user) };
  }

  /** A new pair for a refresh token, which works once: presented again, it ends its session. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    return pair(await this.sessions.refresh(refreshToken));
  }

  /**
   * Ends the session whose access token authenticates the request. A personal token is no session:
   * a 400 saying how to revoke it instead (`howToRevoke`, in the words of the caller's API).
   */
  async logout(user: User, current: VerifiedAccessToken, howToRevoke: string): Promise<void> {
    const { kind, sessionId } = current.accessToken;
    if (kind !== 'session' || sessionId === null) {
      throw new BadRequestException(`Log out with a session access token; revoke personal tokens with ${howToRevoke}`);
    }
    await this.sessions.end(user.id, sessionId);
  }
}
