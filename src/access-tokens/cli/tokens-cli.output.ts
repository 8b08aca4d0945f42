import type { AccessTokenView } from '../access-tokens.interfaces.js';

/** Whether a token authenticates now, and if not, why: `paused` is live but refused until resumed. */
export type TokenStatus = 'live' | 'paused' | 'expired' | 'revoked';

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
  if (!live.has(token.id)) return 'expired';
  return token.enabled ? 'live' : 'paused';
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
  if (token.status === 'paused') return 'paused';
  // Live with a revocation ahead: a rotated token in its grace period.
  if (token.revokedAt !== null) return `live until ${when(token.revokedAt, '')} (${token.revokedReason ?? 'revoked'})`;
  return token.kind === 'session' ? 'live (login session)' : 'live';
}

/** A rate limit as `--rate-limit` takes it and seconds: `100/60s`; `none`. */
function rateLimitText(token: AccessTokenView): string {
  return token.rateLimit ? `${token.rateLimit.limit}/${token.rateLimit.window}s` : 'none';
}

/** Uses left of the most: `7/10`, with the period they are restored after (`7/10 per 3600s`); `unlimited`. */
function usesText(token: AccessTokenView): string {
  if (token.maxUses === null) return 'unlimited';
  const left = `${token.usesLeft ?? token.maxUses}/${token.maxUses}`;
  return token.usesPeriod === null ? left : `${left} per ${token.usesPeriod}s`;
}

/** Allowed addresses and ranges, comma-separated; `any`. */
function allowedText(token: AccessTokenView): string {
  return token.allowedIps === null ? 'any' : token.allowedIps.join(',');
}

/** A token's usage policy in a line: `rate limit 100/60s, uses left 7/10, from any address`. */
export function policyText(token: AccessTokenView): string {
  return [
    token.enabled ? 'enabled' : 'paused',
    `rate limit ${rateLimitText(token)}`,
    `uses left ${usesText(token)}`,
    `from ${token.allowedIps === null ? 'any address' : allowedText(token)}`,
  ].join(', ');
}

/** What `issue` adds to its sentence about a token with a usage policy; nothing for one without. */
export function policySentence(token: AccessTokenView): string {
  const parts = [
    token.rateLimit ? `rate limit ${rateLimitText(token)}` : null,
    token.maxUses === null ? null : `uses ${usesText(token)}`,
    token.allowedIps === null ? null : `from ${allowedText(token)}`,
  ].filter((part) => part !== null);
  return parts.length === 0 ? '' : `, ${parts.join(', ')}`;
}

/** The `list` table, one token a line, columns aligned; names are the user's words, shown as they are. */
export function tokenTable(tokens: readonly ListedToken[], now: Date): string {
  const rows = [
    [
      'ID',
      'NAME',
      'SCOPES',
      'HINT',
      'CREATED',
      'EXPIRES',
      'LAST USED',
      'RATE LIMIT',
      'USES LEFT',
      'ALLOWED IPS',
      'STATUS',
    ],
    ...tokens.map((token) => [
      token.id,
      token.name,
      token.scopes.join(','),
      token.hint,
      when(token.createdAt, ''),
      when(token.expiresAt, 'never'),
      when(token.lastUsedAt, 'never'),
      rateLimitText(token),
      usesText(token),
      allowedText(token),
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
