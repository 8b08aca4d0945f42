import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import {
  AccessToken,
  AddTokenOwnersAndAudit1766000000000,
  AddTokenUsagePolicy1765000000000,
  CreateAccessTokens1763800000000,
} from 'nestjs-access-tokens';
import { CreateUsers1763700000000 } from './migrations/1763700000000-create-users.js';
import { CreateTeams1766100000000 } from './migrations/1766100000000-create-teams.js';
import { Team, TeamMember } from './teams/team.entity.js';
import { User } from './users/user.entity.js';

/** The SQLite file used when DATABASE_URL is not set. */
export const DEFAULT_SQLITE_FILE = 'data/app.sqlite';

/** The demo's entities and migrations, whatever the database. */
export const schema = {
  entities: [User, AccessToken, Team, TeamMember],
  migrations: [
    CreateUsers1763700000000,
    CreateAccessTokens1763800000000,
    AddTokenUsagePolicy1765000000000,
    AddTokenOwnersAndAudit1766000000000,
    CreateTeams1766100000000,
  ],
} as const;

/**
 * Reads DATABASE_URL: unset for the SQLite file `data/app.sqlite`, `sqlite:<path>` (or
 * `sqlite::memory:`), `postgres://…`, `mysql://…` or `mariadb://…`.
 */
export function connectionFromUrl(url: string | undefined): DataSourceOptions {
  if (url === undefined || url === '') return sqlite(DEFAULT_SQLITE_FILE);
  if (url.startsWith('sqlite:')) return sqlite(url.slice('sqlite:'.length));
  if (/^postgres(ql)?:\/\//.test(url)) return { type: 'postgres', url };
  if (url.startsWith('mysql://')) return { type: 'mysql', url };
  if (url.startsWith('mariadb://')) return { type: 'mariadb', url: url.replace(/^mariadb:/, 'mysql:') };
  throw new Error(
    `DATABASE_URL must be unset, or start with sqlite:, postgres://, mysql:// or mariadb:// (got "${url.split(':')[0]}:…")`,
  );
}

function sqlite(path: string): DataSourceOptions {
  if (path === '') throw new Error('DATABASE_URL "sqlite:" needs a file path, e.g. sqlite:data/app.sqlite');
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  return {
    type: 'better-sqlite3',
    database: path,
    // better-sqlite3 is synchronous: a commit holds the event loop until it is done. In WAL mode
    // with synchronous=NORMAL a commit does not wait for the disk (a crash may lose the last ones,
    // never consistency), so that recording a token's use does not stall every request in flight.
    enableWAL: true,
    prepareDatabase: (db: { pragma(source: string): unknown }) => {
      db.pragma('synchronous = NORMAL');
    },
  };
}
