import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

export class CreateUsers1763700000000 implements MigrationInterface {
  readonly name = 'CreateUsers1763700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'app_users',
        columns: [
          { name: 'uuid', type: 'uuid', isPrimary: true },
          { name: 'email', type: 'varchar', length: '200' },
          { name: 'pwd', type: 'varchar', length: '200' },
          { name: 'disabled', type: 'boolean', default: false },
          { name: 'permissions', type: 'text' },
        ],
      }),
    );
    await queryRunner.createIndex(
      'app_users',
      new TableIndex({ name: 'UQ_app_users_email', columnNames: ['email'], isUnique: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('app_users');
  }
}
