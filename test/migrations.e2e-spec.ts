import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { testDatabaseKind } from './fixtures/database.js';
import { startDemoApp, type DemoApp } from './fixtures/demo-app.js';

describe(`migrations on ${testDatabaseKind()}`, () => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp();
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('create exactly the schema the entities describe', async () => {
    const { upQueries } = await demo.dataSource.driver.createSchemaBuilder().log();
    expect(upQueries.map((q) => q.query)).toEqual([]);
  });

  it('undo cleanly', async () => {
    await demo.dataSource.undoLastMigration();
    await demo.dataSource.undoLastMigration();
    await demo.dataSource.undoLastMigration();
    await demo.dataSource.undoLastMigration();
    expect(await demo.dataSource.createQueryRunner().hasTable('access_tokens')).toBe(false);
    expect(await demo.dataSource.showMigrations()).toBe(true);
    await demo.dataSource.runMigrations();
    expect(await demo.dataSource.createQueryRunner().hasTable('access_tokens')).toBe(true);
  });
});
