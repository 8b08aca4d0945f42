import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AccessTokenEvents } from 'nestjs-access-tokens';

/**
 * Warns in the log at each use of a canary token: whoever presented it has a token they should
 * not. The client was answered as for an unknown token; the log says which canary, from where.
 */
@Injectable()
export class CanaryAlerts implements OnModuleInit {
  private readonly logger = new Logger('CanaryAlerts');

  constructor(private readonly events: AccessTokenEvents) {}

  onModuleInit(): void {
    this.events.on('canary_used', ({ tokenId, name, userId, address, userAgent }) => {
      // The user agent is bounded and free of control characters; JSON quotes it for the log line.
      this.logger.warn(
        `canary token ${tokenId} ${JSON.stringify(name)} of user ${userId} used from ${address ?? 'an unknown address'}, user agent ${JSON.stringify(userAgent)}`,
      );
    });
  }
}
