import { Controller, Get } from '@nestjs/common';
import { Public } from './access-tokens/index.js';

@Controller('health')
export class HealthController {
  @Public()
  @Get()
  check() {
    return { status: 'ok' };
  }
}
