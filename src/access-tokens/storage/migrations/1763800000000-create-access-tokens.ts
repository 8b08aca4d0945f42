import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Creates the `access_tokens` table on SQLite, PostgreSQL or MariaDB/MySQL. Add it to the app's
 * `migrations` (apps that use `synchronize` need nothing).
 */
export class CreateAccessTokens1763800000000 implements MigrationInterface {
  readonly name = 'CreateAccessTokens1763800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const time = (name: string, isNullable: boolean) => ({ name, type: 'bigint', isNullable });
    await queryRunner.createTable(
      new Table({
        name: 'access_tokens',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'user_id', type: 'varchar', length: '64' },
          { name: 'kind', type: 'varchar', length: '16', default: "'personal'" },
          { name: 'family_id', type: 'varchar', length: '36', isNullable: true },
          { name: 'name', type: 'varchar', length: '100' },
          { name: 'token_hash', type: 'varchar', length: '64' },
          { name: 'hint', type: 'varchar', length: '40' },
          { name: 'scopes', type: 'text' },
          time('created_at', false),
          time('expires_at', true),
          { name: 'lifetime', type: 'integer', isNullable: true },
          { name: 'idle_timeout', type: 'integer', isNullable: true },
          time('idle_expires_at', true),
          time('expiring_notified_at', true),
          time('last_used_at', true),
          time('revoked_at', true),
          { name: 'fingerprint', type: 'varchar', length: '64', isNullable: true },
          { name: 'revoked_reason', type: 'varchar', length: '64', isNullable: true },
        ],
      }),
    );
    await queryRunner.createIndex(
      'access_tokens',
      new TableIndex({ name: 'UQ_access_tokens_token_hash', columnNames: ['token_hash'], isUnique: true }),
    );
    // user_id for a user's tokens; the time columns for pruning and expiry notices off the request path.
    for (const column of ['user_id', 'family_id', 'expires_at', 'idle_expires_at', 'revoked_at']) {
      await queryRunner.createIndex(
        'access_tokens',
        new TableIndex({ name: `IDX_access_tokens_${column}`, columnNames: [column] }),
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('access_tokens');
  }
}
