import type { IssuedAccessToken } from 'nestjs-access-tokens';

/** What a client is shown of a token it just got: the raw token, this once, and what it may do until when. */
export interface CreatedToken {
  token: string;
  /** `null` for a token that never expires. */
  expires: Date | null;
  id: string;
  name: string;
  scopes: string[];
}

/** The answer of `POST /tokens/generate` and of the GraphQL `createToken` mutation. */
export function createdToken({ token, accessToken }: IssuedAccessToken): CreatedToken {
  const { id, name, scopes, expiresAt } = accessToken;
  return { token, expires: expiresAt, id, name, scopes };
}
