import { TableColumn, type MigrationInterface, type QueryRunner } from 'typeorm';
import { isSqlite } from '../drivers.js';

/**
 * Adds to `access_tokens` who made a team's token, the app's metadata, the audit trail of the last
 * use (address, user agent), the scopes each token exercised, and canaries. Existing tokens keep
 * working as before: every new column is nullable, or `canary` defaults to false.
 */
export class AddTokenOwnersAndAudit1766000000000 implements MigrationInterface {
  readonly name = 'AddTokenOwnersAndAudit1766000000000';

  private columns(queryRunner: QueryRunner): TableColumn[] {
    return [
      new TableColumn({ name: 'created_by', type: 'varchar', length: '64', isNullable: true }),
      new TableColumn({ name: 'metadata', type: 'text', isNullable: true }),
      new TableColumn({ name: 'last_used_ip', type: 'varchar', length: '45', isNullable: true }),
      new TableColumn({ name: 'last_used_user_agent', type: 'varchar', length: '255', isNullable: true }),
      new TableColumn({ name: 'scopes_used', type: 'text', isNullable: true }),
      // As TypeORM writes the entity's `default: false` on each database: SQLite stores booleans as 0 and 1.
      new TableColumn({ name: 'canary', type: 'boolean', default: isSqlite(queryRunner.connection) ? 0 : false }),
    ];
  }

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('access_tokens', this.columns(queryRunner));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumns('access_tokens', this.columns(queryRunner));
  }
}
