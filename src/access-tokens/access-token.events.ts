import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { ResolvedAccessTokensOptions } from './access-tokens-options.interface.js';
import { ACCESS_TOKEN_EVENTS } from './access-tokens.constants.js';
import { RESOLVED_OPTIONS } from './access-tokens.internal-constants.js';
import type { InvalidTokenReason, TokenPolicyReason } from './core/access-tokens.errors.js';

/**
 * What each event carries. No event ever carries a raw token or its hash. Every event about one
 * token, or one owner's tokens, carries `ownerKind: 'team'` when they are a team's: `userId` is then
 * the team's id, which a user may share. It is absent for a user's token.
 */
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
  rotated: {
    userId: string;
    tokenId: string;
    newTokenId: string;
    graceSeconds: number;
    /** `'team'` for a team's token: `userId` is then the team's id. */
    ownerKind?: 'team';
  };
  /** A token was paused: refused as `paused` until resumed. */
  paused: {
    userId: string;
    tokenId: string;
    /** `'team'` for a team's token: `userId` is then the team's id. */
    ownerKind?: 'team';
  };
  /** A paused token was resumed. */
  resumed: {
    userId: string;
    tokenId: string;
    /** `'team'` for a team's token: `userId` is then the team's id. */
    ownerKind?: 'team';
  };
  /** A token's first recorded use, on one instance of several. */
  first_used: {
    userId: string;
    tokenId: string;
    address: string | null;
    userAgent: string | null;
    at: Date;
    /** `'team'` for a team's token: `userId` is then the team's id. */
    ownerKind?: 'team';
  };
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
    /** `'team'` for a team's canary: `userId` is then the team's id. */
    ownerKind?: 'team';
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
    /** `'team'` when the refused token is a team's: `userId` is then the team's id. */
    ownerKind?: 'team';
  };
  /** A personal or team token expires within `maintenance.expiringNoticeSeconds`; fires once per token, on one instance. */
  expiring: {
    userId: string;
    tokenId: string;
    name: string;
    expiresAt: Date;
    /** `'team'` for a team's token: `userId` is then the team's id. */
    ownerKind?: 'team';
  };
  /** Pruning deleted tokens past their retention (`maintenance.retentionSeconds`). */
  pruned: { count: number };
}

/** The name of an event. */
export type AccessTokenEventName = keyof AccessTokenEventMap;

type Listener<E extends AccessTokenEventName> = (event: AccessTokenEventMap[E]) => void | Promise<void>;

/** The name of each event on the app's `EventEmitter2`; the compiler checks that every event has its name. */
const BRIDGED_NAMES: { readonly [E in AccessTokenEventName]: `access-tokens.${E}` } = ACCESS_TOKEN_EVENTS;

/** What the module uses of `@nestjs/event-emitter`'s `EventEmitter2`, which it never imports statically. */
interface AppEventEmitter {
  emitAsync(event: string, payload: unknown): unknown;
  hasListeners(event: string): boolean;
}

/**
 * Lets the app observe the module (for audit logs, e-mail) without patching it. A listener that
 * throws or rejects is logged and never breaks the request or the transaction that fired it.
 *
 * When the app has `@nestjs/event-emitter` (`EventEmitterModule.forRoot()`), every event is also
 * emitted on its `EventEmitter2` as `access-tokens.<name>` (`ACCESS_TOKEN_EVENTS`), with the same
 * payload, for `@OnEvent()` listeners; `events: { eventEmitter: false }` turns that off.
 *
 * @example
 * constructor(events: AccessTokenEvents) {
 *   events.on('revoked', ({ userId, tokenIds, reason }) => audit.log('tokens revoked', { userId, tokenIds, reason }));
 * }
 */
@Injectable()
export class AccessTokenEvents implements OnModuleInit {
  private readonly logger = new Logger(AccessTokenEvents.name);
  /** The app's `EventEmitter2`, found at start-up; `null` without one, or with `events.eventEmitter: false`. */
  private emitter: AppEventEmitter | null = null;
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

  constructor(
    @Inject(RESOLVED_OPTIONS) private readonly options: ResolvedAccessTokensOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * Finds the app's `EventEmitter2`, if `@nestjs/event-emitter` is installed and the app imported
   * `EventEmitterModule.forRoot()`: looked up in this app only, so that two apps in one process
   * each emit on their own.
   */
  async onModuleInit(): Promise<void> {
    if (!this.options.events.eventEmitter) return;
    let eventEmitter: typeof import('@nestjs/event-emitter');
    try {
      eventEmitter = await import('@nestjs/event-emitter');
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      // Only the package missing: one that is there but broken keeps its own error.
      if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(error).includes('event-emitter'))
        return;
      throw error;
    }
    try {
      this.emitter = this.moduleRef.get<unknown, AppEventEmitter>(eventEmitter.EventEmitter2, { strict: false });
    } catch {
      // Installed, but the app did not import EventEmitterModule.forRoot(): the typed listeners only.
    }
  }

  /** Calls `listener` on each `event`; returns a function that stops it. */
  on<E extends AccessTokenEventName>(event: E, listener: Listener<E>): () => void {
    const listeners = this.listeners[event] as Set<Listener<E>>;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  /**
   * @internal Whether anything listens to `event`: a typed listener, or one of the app's
   * `EventEmitter2` (wildcards included). A refusal, which comes as fast as a client sends garbage,
   * builds its payload (and reads the client's address) only then.
   */
  wants(event: AccessTokenEventName): boolean {
    return this.listeners[event].size > 0 || (this.emitter !== null && this.emitter.hasListeners(BRIDGED_NAMES[event]));
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
    if (this.emitter !== null) this.forward(this.emitter, BRIDGED_NAMES[event], payload);
  }

  /**
   * Emits on the app's `EventEmitter2`, never awaited: `emitAsync` so that a listener's rejection
   * (an `@OnEvent()` method with `suppressErrors: false`) is caught here rather than left unhandled,
   * and a listener that throws at once is caught too.
   */
  private forward(emitter: AppEventEmitter, name: string, payload: unknown): void {
    try {
      const result = emitter.emitAsync(name, payload);
      if (result instanceof Promise) result.catch((error: unknown) => this.failed(name, error));
    } catch (error) {
      this.failed(name, error);
    }
  }

  private failed(event: string, error: unknown): void {
    this.logger.error(`A listener of "${event}" failed: ${String(error)}`);
  }
}
