import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { ACCESS_TOKEN_EVENTS, type AccessTokenEventMap } from 'nestjs-access-tokens';

/**
 * The demo's audit log of tokens: the module's events, through @nestjs/event-emitter, one log line
 * each. No event carries a raw token or its hash, so none reaches the log.
 */
@Injectable()
export class TokenAuditLog {
  private readonly logger = new Logger('TokenAudit');

  @OnEvent(ACCESS_TOKEN_EVENTS.issued)
  issued({ userId, tokenId, name, scopes }: AccessTokenEventMap['issued']) {
    this.logger.log(`user ${userId}: token ${tokenId} "${name}" issued, scopes ${scopes.join(' ')}`);
  }

  @OnEvent(ACCESS_TOKEN_EVENTS.rotated)
  rotated({ userId, tokenId, newTokenId, graceSeconds }: AccessTokenEventMap['rotated']) {
    this.logger.log(`user ${userId}: token ${tokenId} rotated into ${newTokenId}, ${graceSeconds} s of grace`);
  }

  @OnEvent(ACCESS_TOKEN_EVENTS.revoked)
  revoked({ userId, tokenIds, reason }: AccessTokenEventMap['revoked']) {
    this.logger.log(`user ${userId}: tokens ${tokenIds.join(', ')} revoked (${reason})`);
  }

  // Refusals come as fast as a client sends garbage: at debug level, so that a flood of them does
  // not flood the log (GET /metrics counts them by reason).
  @OnEvent(ACCESS_TOKEN_EVENTS.verification_failed)
  refused({ reason, tokenId, address }: AccessTokenEventMap['verification_failed']) {
    this.logger.debug(`token ${tokenId ?? '(none known)'} refused (${reason}) from ${address ?? 'no address'}`);
  }
}
