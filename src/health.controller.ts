import { Controller, Get } from '@nestjs/common';
import { Public } from 'nestjs-access-tokens';

@Controller('health')
export class HealthController {
  @Public()
  @Get()
  check() {
    return { status: 'ok' };
  }
}
