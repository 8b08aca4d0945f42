import type { DataSource } from 'typeorm';

/** TypeORM's SQLite drivers (TypeORM 0.3 also has `sqlite`). */
const SQLITE_DRIVERS = new Set<string>([
  'better-sqlite3',
  'sqlite',
  'sqljs',
  'capacitor',
  'cordova',
  'expo',
  'nativescript',
  'react-native',
]);

/**
 * Whether the DataSource is SQLite: one connection, on which TypeORM cannot run two transactions
 * at once (the second fails with SQLITE_ERROR), and which takes no row locks.
 */
export function isSqlite(dataSource: DataSource): boolean {
  return SQLITE_DRIVERS.has(dataSource.options.type);
}
