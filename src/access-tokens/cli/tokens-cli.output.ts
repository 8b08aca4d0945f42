import type { AccessTokenView } from '../access-tokens.interfaces.js';

/** Whether a token authenticates now, and if not, why. */
export type TokenStatus = 'live' | 'expired' | 'revoked';

/** A token as the CLI shows it: the module's view and its status. */
export interface ListedToken extends AccessTokenView {
  status: TokenStatus;
}

/** A user as the CLI names it. */
export interface ListedUser {
  id: string | number;
  username: string;
}

/**
 * A token's status at `now`. `live` is what the module verified as live (`page({ status: 'live' })`),
 * so that a token idle too long counts as expired though its `expiresAt` is ahead.
 */
export function statusOf(token: AccessTokenView, live: ReadonlySet<string>, now: Date): TokenStatus {
  if (token.revokedAt !== null && token.revokedAt.getTime() <= now.getTime()) return 'revoked';
  return live.has(token.id) ? 'live' : 'expired';
}

/** A time to the second, in UTC: `2026-01-31 12:00:00Z`. */
export function when(time: Date | null, none: string): string {
  return time === null
    ? none
    : time
        .toISOString()
        .replace('T', ' ')
        .replace(/\.[0-9]{3}Z$/, 'Z');
}

/** What the status column says: the status, and its reason when there is one. */
function statusText(token: ListedToken, now: Date): string {
  if (token.status === 'revoked') return token.revokedReason ? `revoked (${token.revokedReason})` : 'revoked';
  if (token.status === 'expired')
    return token.expiresAt !== null && token.expiresAt.getTime() <= now.getTime() ? 'expired' : 'expired (idle)';
  // Live with a revocation ahead: a rotated token in its grace period.
  if (token.revokedAt !== null) return `live until ${when(token.revokedAt, '')} (${token.revokedReason ?? 'revoked'})`;
  return token.kind === 'session' ? 'live (login session)' : 'live';
}

/** The `list` table, one token a line, columns aligned; names are the user's words, shown as they are. */
export function tokenTable(tokens: readonly ListedToken[], now: Date): string {
  const rows = [
    ['ID', 'NAME', 'SCOPES', 'HINT', 'CREATED', 'EXPIRES', 'LAST USED', 'STATUS'],
    ...tokens.map((token) => [
      token.id,
      token.name,
      token.scopes.join(','),
      token.hint,
      when(token.createdAt, ''),
      when(token.expiresAt, 'never'),
      when(token.lastUsedAt, 'never'),
      statusText(token, now),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => [...row[column]!].length)));
  return (
    rows
      .map((row) =>
        row
          .map((cell, column) =>
            column === row.length - 1 ? cell : cell + ' '.repeat(widths[column]! - [...cell].length),
          )
          .join('  '),
      )
      .join('\n') + '\n'
  );
}

/** `value` as one line of JSON. Dates become ISO strings. */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
