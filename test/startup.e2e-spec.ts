import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { TEST_SECRET } from './fixtures/secrets.js';

const fixtures = join(import.meta.dirname, 'fixtures');

/** Starts test/fixtures/startup-app.mjs on the built package, without the packages `hidden`; resolves to its exit code and output. */
function startApp(options: object, hidden: string[] = []): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', join(fixtures, 'hide-packages.mjs'), join(fixtures, 'startup-app.mjs')],
      {
        env: {
          ...process.env,
          HIDE_PACKAGES: hidden.join(','),
          ACCESS_TOKENS_OPTIONS: JSON.stringify(options),
          TOKEN_SECRET: TEST_SECRET,
          NO_COLOR: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** What Node prints for an error nothing caught, where Nest's start-up log was due. */
const UNCAUGHT = /Node\.js v\d|triggerUncaughtException|UnhandledPromiseRejection/;

/**
 * Start-up as a user meets it (a process of its own, the built package): an option or a package
 * missing stops the app in Nest's own error log, `[ExceptionHandler]` and exit code 1, with a
 * message that says what to do, never an uncaught error out of the app's `main.ts`.
 */
describe('start-up errors of the built package', () => {
  it('starts with the ready-made routes when their packages are installed', async () => {
    const { code, output } = await startApp({ routes: true });
    expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'started' });
  });

  it('starts without @nestjs/event-emitter, an optional peer the main entry never imports', async () => {
    const { code, output } = await startApp({}, ['@nestjs/event-emitter']);
    expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'started' });
  });

  it.each([
    [
      'a cache bus on Redis without ioredis',
      { cache: { bus: { type: 'redis', url: 'redis://127.0.0.1:6379' } } },
      ['ioredis'],
      'cache.bus { type: "redis" } needs the "ioredis" package: npm install ioredis',
    ],
    [
      'the ready-made routes without class-validator',
      { routes: true },
      ['class-validator'],
      'routes validate their input with "class-validator" and "class-transformer": npm install class-validator class-transformer',
    ],
    [
      'a PostgreSQL bus on another database',
      { cache: { bus: { type: 'postgres' } } },
      [],
      'cache.bus { type: "postgres" } needs a PostgreSQL DataSource: use type "redis" instead',
    ],
    ['an unknown option', { tokenPrefx: 'x' }, [], 'unknown option tokenPrefx; known: user, secret, tokens, '],
  ])("stops at %s in Nest's start-up error log, saying what to do", async (_case, options, hidden, message) => {
    const { code, output } = await startApp(options, hidden);
    expect(code).toBe(1);
    expect(output).toMatch(/ERROR \[ExceptionHandler\] /);
    expect(output).toContain(message);
    expect(output).not.toMatch(UNCAUGHT);
  });

  it("lists forRoot()'s own options among the known ones", async () => {
    const { output } = await startApp({ tokenPrefx: 'x' });
    expect(output).toMatch(/known: user, secret, .*, clock, telemetry, isGlobal, exceptionFilter, routes\n/);
  });
});
