import { Catch, HttpStatus, type ArgumentsHost } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { isDatabaseUnavailable, isTransactionConflict } from 'nestjs-access-tokens';

/** Seconds a client is told to wait before trying again while the database is away. */
const RETRY_AFTER = 5;

/**
 * Answers 503 with `Retry-After` when the database cannot be reached (a refused or lost
 * connection) or a write lost a deadlock, where Nest would answer 500; every other error goes on
 * to Nest's own handling. Requests with a cached token and no query of their own keep working
 * meanwhile.
 */
@Catch()
export class DatabaseOutageFilter extends BaseExceptionFilter {
  override catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http' || !(isDatabaseUnavailable(error) || isTransactionConflict(error)))
      return super.catch(error, host);
    const adapter = this.httpAdapterHost!.httpAdapter;
    const response: unknown = host.switchToHttp().getResponse();
    adapter.setHeader(response, 'Retry-After', String(RETRY_AFTER));
    adapter.reply(
      response,
      {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'The database is unavailable or busy: try again shortly',
      },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}
