import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

export class CreateUsers1763700000000 implements MigrationInterface {
  readonly name = 'CreateUsers1763700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Written as each database reports it back, so that TypeORM sees no drift from the entity.
    const no = queryRunner.connection.driver.options.type === 'postgres' ? 'false' : '0';
    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'username', type: 'varchar', length: '64' },
          { name: 'password_hash', type: 'varchar', length: '100' },
          { name: 'blocked', type: 'boolean', default: no },
          { name: 'is_admin', type: 'boolean', default: no },
        ],
      }),
    );
    await queryRunner.createIndex(
      'users',
      new TableIndex({ name: 'UQ_users_username', columnNames: ['username'], isUnique: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('users');
  }
}
