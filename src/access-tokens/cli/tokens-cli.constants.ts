/** Revocation reason recorded by `runTokensCli`'s `revoke` and `revoke-all`: what the 401 then reports. */
export const REVOKED_BY_ADMIN = 'revoked_by_admin';
