import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
/** Every entry of package.json "exports" but package.json itself. */
const entries = Object.keys(
  (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports,
).filter((subpath) => subpath !== './package.json').length;

/**
 * The public API is what api/nestjs-access-tokens.api.md says, entry by entry (scripts/api-report.mjs
 * reads the built declarations): an export added or removed, or a signature changed, fails here until
 * the report is regenerated (`npm run api:report`) and the change reviewed with it.
 */
describe('the API report', () => {
  it('matches the built package', () => {
    const { status, stdout, stderr } = spawnSync(process.execPath, [join(root, 'scripts/api-report.mjs'), '--check'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect({ status, output: stderr || stdout }).toEqual({
      status: 0,
      output: `api report: up to date (${entries} entries)\n`,
    });
  }, 60_000);
});
