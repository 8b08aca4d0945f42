import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

// Jest transforms the package to CommonJS for the other specs; here real Node loads it, from a
// CommonJS script in the app's folder, both ways.
const run = promisify(execFile);
const root = join(__dirname, '..');

describe('nestjs-access-tokens loaded by Node from CommonJS (e2e)', () => {
  it('require() and import() give the same module: one copy of each class', async () => {
    const script = `
      const required = require('nestjs-access-tokens');
      import('nestjs-access-tokens').then((imported) => {
        console.log(JSON.stringify({
          module: typeof required.AccessTokensModule,
          sameModule: required.AccessTokensModule === imported.AccessTokensModule,
          sameService: required.TokensService === imported.TokensService,
          sameGuard: required.AccessTokenGuard === imported.AccessTokenGuard,
          sameEntity: required.AccessToken === imported.AccessToken,
        }));
      });
    `;
    const { stdout, stderr } = await run(process.execPath, ['-e', script], { cwd: root });
    expect(JSON.parse(stdout)).toEqual({
      module: 'function',
      sameModule: true,
      sameService: true,
      sameGuard: true,
      sameEntity: true,
    });
    expect(stderr).toBe('');
  });

  it('require() of the testing entry point works too, without a warning', async () => {
    const script = `
      const { ManualClock } = require('nestjs-access-tokens/testing');
      console.log(typeof ManualClock);
    `;
    const { stdout, stderr } = await run(process.execPath, ['-e', script], { cwd: root });
    expect(stdout.trim()).toBe('function');
    expect(stderr).toBe('');
  });
});
