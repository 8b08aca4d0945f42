import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

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
    expect({ status, output: stderr || stdout }).toEqual({ status: 0, output: 'api report: up to date (5 entries)\n' });
  }, 60_000);
});
