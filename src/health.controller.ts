import { Controller, Get } from '@nestjs/common';
import { Public, TokensService } from 'nestjs-access-tokens';

@Controller('health')
export class HealthController {
  constructor(private readonly tokens: TokensService) {}

  /**
   * `degraded` while the cache bus is down: the instance still serves, verifying from the database
   * until the bus is back, so a load balancer should keep sending it requests.
   */
  @Public()
  @Get()
  check() {
    const { cacheBus } = this.tokens.health();
    return { status: cacheBus === 'down' ? 'degraded' : 'ok', cacheBus };
  }
}
