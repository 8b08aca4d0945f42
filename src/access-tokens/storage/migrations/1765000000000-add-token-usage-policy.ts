import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Adds the columns of tokens' usage policies (pause, rate limit, quota of uses, allowed addresses)
 * to `access_tokens`. Every one is nullable: existing tokens keep working as before, with no policy.
 */
export class AddTokenUsagePolicy1765000000000 implements MigrationInterface {
  readonly name = 'AddTokenUsagePolicy1765000000000';

  private readonly columns = [
    new TableColumn({ name: 'paused_at', type: 'bigint', isNullable: true }),
    new TableColumn({ name: 'rate_limit', type: 'integer', isNullable: true }),
    new TableColumn({ name: 'rate_window', type: 'integer', isNullable: true }),
    new TableColumn({ name: 'max_uses', type: 'integer', isNullable: true }),
    new TableColumn({ name: 'uses_left', type: 'integer', isNullable: true }),
    new TableColumn({ name: 'uses_period', type: 'integer', isNullable: true }),
    new TableColumn({ name: 'uses_renew_at', type: 'bigint', isNullable: true }),
    new TableColumn({ name: 'allowed_ips', type: 'text', isNullable: true }),
  ];

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('access_tokens', this.columns);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumns('access_tokens', this.columns);
  }
}
