import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { connectionFromUrl, schema } from './src/database.js';

/**
 * The demo's DataSource for the TypeORM CLI (`npm run migration:run`), reading DATABASE_URL as the
 * demo does. The demo itself also runs these migrations at start.
 */
export default new DataSource({
  ...connectionFromUrl(process.env.DATABASE_URL),
  entities: [...schema.entities],
  migrations: [...schema.migrations],
});
