import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { Public } from 'nestjs-access-tokens';
import { AccessTokensHealthIndicator } from 'nestjs-access-tokens/terminus';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly accessTokens: AccessTokensHealthIndicator,
  ) {}

  /**
   * Terminus's answer: 200 when the token store answers a query and the cache bus, if any, is
   * connected; 503 otherwise, with the reason under `error.accessTokens`.
   */
  @Public()
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.accessTokens.isHealthy('accessTokens')]);
  }
}
