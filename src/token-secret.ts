import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import type { DataSourceOptions } from 'typeorm';

const HOW_TO_MAKE_ONE = 'generate one with `openssl rand -base64 32`';

/**
 * The secret the demo's tokens are signed with: TOKEN_SECRET (several, comma-separated, to rotate:
 * the first signs, every one verifies), or else, on a SQLite file, a random one kept in a file
 * beside it, made on first start (mode 0600): `npm start` needs no setup, and tokens outlive a
 * restart. A server database has no such "beside": every instance on it needs the same secret,
 * so TOKEN_SECRET must be set. The library checks what it is given (length, placeholders).
 */
export function tokenSecretFromEnv(database: DataSourceOptions): string[] {
  const given = process.env.TOKEN_SECRET;
  if (given !== undefined && given !== '') return given.split(',').map((secret) => secret.trim());
  if (database.type !== 'better-sqlite3') {
    throw new Error(
      `TOKEN_SECRET must be set for a ${database.type} database, the same on every instance: ${HOW_TO_MAKE_ONE}`,
    );
  }
  const file = String(database.database);
  // An in-memory database's tokens die with the process: so may its secret.
  if (file === ':memory:') return [randomBytes(32).toString('base64url')];
  return [secretBeside(`${file}.token-secret`)];
}

function secretBeside(path: string): string {
  try {
    // `wx`: of two first starts at once, one writes and the other reads what it wrote.
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    new Logger('TokenSecret').log(
      `Created a random token secret in ${path}: keep it private; set TOKEN_SECRET to use your own`,
    );
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readPrivate(path);
  }
}

/**
 * The secret in `path`, refused when others may read it (they could sign tokens) or write it
 * (they could choose the key): checked on the file as opened, not on its name.
 */
function readPrivate(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const mode = fstatSync(fd).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(
        `The token secret file ${path} can be read or written by other users (mode 0${mode.toString(8)}): ` +
          `make it private with \`chmod 600 ${path}\`, or set TOKEN_SECRET (${HOW_TO_MAKE_ONE})`,
      );
    }
    return readFileSync(fd, 'utf8').trim();
  } finally {
    closeSync(fd);
  }
}
