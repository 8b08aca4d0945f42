/**
 * The key of a token's owner in the verification cache and on the cache bus: a user's id as it is,
 * a team's prefixed, so that dropping user 5's cached verifications never drops team 5's, nor the
 * other way round. (A user whose id is itself `team:5` would drop team 5's too: a read more, never
 * one less.)
 */
export function ownerKey(kind: string, ownerId: string): string {
  return kind === 'team' ? `team:${ownerId}` : ownerId;
}

const TEAM_OWNED = Object.freeze({ ownerKind: 'team' } as const);
const USER_OWNED = Object.freeze({});

/**
 * What an event about a token of `kind` adds to its payload: `ownerKind: 'team'` for a team's
 * token, whose `userId` is the team's id (which a user's may equal), and nothing for a user's.
 */
export function ownerKindOf(kind: string): { readonly ownerKind?: 'team' } {
  return kind === 'team' ? TEAM_OWNED : USER_OWNED;
}
