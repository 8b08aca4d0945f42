import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { ACCESS_TOKEN_EVENTS, type AccessTokenEventMap } from 'nestjs-access-tokens';

/**
 * The demo's audit log of tokens: the module's events, through @nestjs/event-emitter, one log line
 * each. No event carries a raw token or its hash, so none reaches the log. Refusals
 * (`verification_failed`) are not logged one by one: they come as fast as a client sends garbage,
 * and `GET /metrics` counts them by reason; with no listener, the module does not even build them.
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
}
