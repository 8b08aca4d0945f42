import { Injectable, Logger } from '@nestjs/common';
import type { InvalidTokenReason, TokenPolicyReason } from './core/access-tokens.errors.js';

/** What each event carries. No event ever carries a raw token or its hash. */
export interface AccessTokenEventMap {
  /** A token was issued. */
  issued: {
    userId: string;
    tokenId: string;
    name: string;
    scopes: string[];
    expiresAt: Date | null;
    /** `'team'` for a team's token: `userId` is then the team's id (the member who made it is the view's `createdBy`). */
    ownerKind?: 'team';
  };
  /** Tokens were revoked, after the transaction that revoked them committed. */
  revoked: {
    userId: string;
    tokenIds: string[];
    reason: string;
    /** `'team'` for a team's tokens: `userId` is then the team's id. */
    ownerKind?: 'team';
  };
  /** A token was rotated: `tokenId` replaced by `newTokenId`, the old one working `graceSeconds` more. */
  rotated: { userId: string; tokenId: string; newTokenId: string; graceSeconds: number };
  /** A token was paused: refused as `paused` until resumed. */
  paused: { userId: string; tokenId: string };
  /** A paused token was resumed. */
  resumed: { userId: string; tokenId: string };
  /** A token's first recorded use, on one instance of several. */
  first_used: { userId: string; tokenId: string; address: string | null; userAgent: string | null; at: Date };
  /**
   * A canary token was presented: someone has it who should not. Raised on whichever instance it
   * lands, at every use; the caller was answered as for an unknown token.
   */
  canary_used: {
    userId: string;
    tokenId: string;
    name: string;
    address: string | null;
    userAgent: string | null;
    at: Date;
  };
  /**
   * A presented token was refused, as invalid or by its usage policy; `tokenId` and `userId` are
   * known unless it was malformed or unknown; `address` is the client's, when a request was given.
   */
  verification_failed: {
    reason: InvalidTokenReason | TokenPolicyReason;
    tokenId: string | null;
    userId: string | null;
    address: string | null;
  };
  /** A personal token expires within `maintenance.expiringNoticeSeconds`; fires once per token, on one instance. */
  expiring: { userId: string; tokenId: string; name: string; expiresAt: Date };
  /** Pruning deleted tokens past their retention (`maintenance.retentionSeconds`). */
  pruned: { count: number };
}

/** The name of an event. */
export type AccessTokenEventName = keyof AccessTokenEventMap;

type Listener<E extends AccessTokenEventName> = (event: AccessTokenEventMap[E]) => void | Promise<void>;

/**
 * Lets the app observe the module (for audit logs, e-mail) without patching it. A listener that
 * throws or rejects is logged and never breaks the request or the transaction that fired it.
 *
 * @example
 * constructor(events: AccessTokenEvents) {
 *   events.on('revoked', ({ userId, tokenIds, reason }) => audit.log('tokens revoked', { userId, tokenIds, reason }));
 * }
 */
@Injectable()
export class AccessTokenEvents {
  private readonly logger = new Logger(AccessTokenEvents.name);
  private readonly listeners: { [E in AccessTokenEventName]: Set<Listener<E>> } = {
    issued: new Set(),
    revoked: new Set(),
    rotated: new Set(),
    paused: new Set(),
    resumed: new Set(),
    first_used: new Set(),
    canary_used: new Set(),
    verification_failed: new Set(),
    expiring: new Set(),
    pruned: new Set(),
  };

  /** Calls `listener` on each `event`; returns a function that stops it. */
  on<E extends AccessTokenEventName>(event: E, listener: Listener<E>): () => void {
    const listeners = this.listeners[event] as Set<Listener<E>>;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /** @internal Fires an event; used by the module itself. */
  emit<E extends AccessTokenEventName>(event: E, payload: AccessTokenEventMap[E]): void {
    for (const listener of this.listeners[event] as Set<Listener<E>>) {
      try {
        const result = listener(payload);
        if (result instanceof Promise) result.catch((error: unknown) => this.failed(event, error));
      } catch (error) {
        this.failed(event, error);
      }
    }
  }

  private failed(event: string, error: unknown): void {
    this.logger.error(`A listener of "${event}" failed: ${String(error)}`);
  }
}
