const DAY = 24 * 60 * 60;

/**
 * The defaults of `AccessTokensModule.forRoot()`, in one place, in the shape of its options. Every
 * duration is a whole number of seconds.
 */
export const ACCESS_TOKENS_DEFAULTS = {
  user: { idField: 'id', usernameField: 'username', passwordHashField: 'passwordHash', blockedField: 'blocked' },
  teams: { idField: 'id', nameField: 'name', blockedField: 'blocked' },
  tokens: {
    prefix: 'nat',
    lifetimeSeconds: 30 * DAY,
    maxLifetimeSeconds: 365 * DAY,
    idleTimeoutSeconds: null,
    maxPerUser: 100,
    lastUsedIntervalSeconds: 60,
    unusedScopeSeconds: 90 * DAY,
  },
  credentials: { queryParameter: false, foreign: 'refuse', realm: 'api' },
  sessions: { accessLifetimeSeconds: 900, refreshLifetimeSeconds: 7 * DAY },
  maintenance: { intervalSeconds: 300, prune: true, retentionSeconds: 7 * DAY, expiringNoticeSeconds: 7 * DAY },
  cache: { max: 10_000, ttlSeconds: 10, busTtlSeconds: 300, bus: { channel: 'access_tokens_invalidation' } },
  passwords: { throttle: { perAccount: 10, perClient: 30, windowSeconds: 60 } },
  events: { eventEmitter: true },
} as const;
