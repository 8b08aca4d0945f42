import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import request from 'supertest';
import { startServer } from './fixtures/server-process.js';

const PASSWORD = 'correct horse battery';
const HOW_TO = 'openssl rand -base64 32';

/**
 * The demo's secret, as `npm start` finds it (issue 13): no setup on its SQLite file, a secret it
 * makes once and keeps; TOKEN_SECRET where it is set, and needed on a server database.
 */
describe("the built demo API's token secret", () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-secret-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes a random secret beside its SQLite file on first start (0600), says so once, and keeps it', async () => {
    const env = { DATABASE_URL: `sqlite:${join(dir, 'app.sqlite')}`, TOKEN_SECRET: '' };
    const secretFile = join(dir, 'app.sqlite.token-secret');
    const first = await startServer(env);
    let token: string;
    try {
      expect(first.output()).toContain(`Created a random token secret in ${secretFile}`);
      expect(statSync(secretFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(secretFile, 'utf8').trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const http = request(first.url);
      await http.post('/users').send({ username: 'alice', password: PASSWORD }).expect(201);
      token = (await http.post('/auth/login').send({ username: 'alice', password: PASSWORD }).expect(200)).body
        .accessToken;
      expect(first.output()).not.toContain(readFileSync(secretFile, 'utf8').trim());
    } finally {
      await first.stop();
    }
    const again = await startServer(env);
    try {
      expect(again.output()).not.toContain('Created a random token secret');
      await request(again.url).get('/users/me').set('Authorization', `Bearer ${token}`).expect(200);
    } finally {
      await again.stop();
    }
  });

  it.each([
    ['0666', 0o666],
    ['0644', 0o644],
    ['0620', 0o620],
  ])('refuses a secret file of mode %s, which others can read or write, saying how to fix it', async (_octal, mode) => {
    const database = join(dir, `shared-${mode.toString(8)}.sqlite`);
    const secretFile = `${database}.token-secret`;
    const secret = 'Vh1kXq9Pz2Lw8Rb3Tc7Ny4Md6Gf0Js5KaE';
    writeFileSync(secretFile, `${secret}\n`);
    chmodSync(secretFile, mode);
    const failure = await startServer({ DATABASE_URL: `sqlite:${database}`, TOKEN_SECRET: '' }).then(
      async (server) => {
        await server.stop();
        return new Error('it started');
      },
      (error: unknown) => error as Error,
    );
    expect(failure.message).toContain('exited with 1');
    expect(failure.message).toContain(
      `The token secret file ${secretFile} can be read or written by other users (mode 0${mode.toString(8)})`,
    );
    expect(failure.message).toContain(`chmod 600 ${secretFile}`);
    expect(failure.message).not.toContain(secret);
  });

  it('keeps a secret file out of git wherever DATABASE_URL puts the database', () => {
    const root = join(import.meta.dirname, '..');
    for (const path of ['app.sqlite.token-secret', 'data/app.sqlite.token-secret', 'var/db/demo.db.token-secret']) {
      expect(execFileSync('git', ['check-ignore', '--no-index', path], { cwd: root, encoding: 'utf8' }).trim()).toBe(
        path,
      );
    }
  });

  it('signs with TOKEN_SECRET when set, and writes no secret file', async () => {
    const database = join(dir, 'given.sqlite');
    const server = await startServer({
      DATABASE_URL: `sqlite:${database}`,
      TOKEN_SECRET: 'Vh1kXq9Pz2Lw8Rb3Tc7Ny4Md6Gf0Js5KaE',
    });
    await server.stop();
    expect(existsSync(`${database}.token-secret`)).toBe(false);
  });

  it.each([
    [
      'unset, on a server database',
      { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', TOKEN_SECRET: '' },
      'TOKEN_SECRET must be set for a postgres database',
    ],
    [
      'too short',
      { DATABASE_URL: `sqlite:${join(tmpdir(), 'unused.sqlite')}`, TOKEN_SECRET: 'short' },
      'secret is 5 bytes long; it needs at least 32',
    ],
    [
      'a placeholder',
      {
        DATABASE_URL: `sqlite:${join(tmpdir(), 'unused.sqlite')}`,
        TOKEN_SECRET: 'changeme-changeme-changeme-changeme',
      },
      'secret contains "changeme"',
    ],
    [
      'a short second secret',
      {
        DATABASE_URL: `sqlite:${join(tmpdir(), 'unused.sqlite')}`,
        TOKEN_SECRET: 'Vh1kXq9Pz2Lw8Rb3Tc7Ny4Md6Gf0Js5KaE,old',
      },
      'secret #2 is 3 bytes long',
    ],
  ])('refuses to start when TOKEN_SECRET is %s, saying how to make one', async (_case, env, problem) => {
    const failure = await startServer(env).then(
      async (server) => {
        await server.stop();
        return new Error('it started');
      },
      (error: unknown) => error as Error,
    );
    expect(failure.message).toContain('exited with 1');
    expect(failure.message).toContain(problem);
    expect(failure.message).toContain(HOW_TO);
    if (env.TOKEN_SECRET) expect(failure.message).not.toContain(env.TOKEN_SECRET);
  });
});
