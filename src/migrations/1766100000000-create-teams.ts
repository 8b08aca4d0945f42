import { Table, type MigrationInterface, type QueryRunner } from 'typeorm';

/** The demo's teams and their members (`Team`, `TeamMember`). */
export class CreateTeams1766100000000 implements MigrationInterface {
  readonly name = 'CreateTeams1766100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Written as each database reports it back, so that TypeORM sees no drift from the entity.
    const no = queryRunner.connection.driver.options.type === 'postgres' ? 'false' : '0';
    await queryRunner.createTable(
      new Table({
        name: 'teams',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'name', type: 'varchar', length: '64' },
          { name: 'blocked', type: 'boolean', default: no },
          { name: 'permissions', type: 'text', isNullable: true },
        ],
      }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'team_members',
        columns: [
          { name: 'team_id', type: 'integer', isPrimary: true },
          { name: 'user_id', type: 'integer', isPrimary: true },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('team_members');
    await queryRunner.dropTable('teams');
  }
}
