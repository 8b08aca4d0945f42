// Runs the whole suite on SQLite, then the e2e specs on PostgreSQL and on MariaDB, each in
// databases of its own, then the consumer apps that install the packed tarball
// (scripts/test-consumers.mjs). A missing service fails the run: nothing is skipped.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = [
  { db: 'sqlite', args: [] },
  { db: 'postgres', args: ['test/'] },
  { db: 'mariadb', args: ['test/'] },
];
const dir = mkdtempSync(join(tmpdir(), 'test-all-'));
let passed = 0;
let failed = 0;
let broken = false;

for (const { db, args } of runs) {
  const outputFile = join(dir, `${db}.json`);
  console.log(`\n=== TEST_DB=${db} ===`);
  const result = spawnSync(
    process.execPath,
    // Two workers on this 2-core machine: most e2e time is spent waiting (databases, child
    // processes, a browser), and each spec file has its own database, so files run side by side.
    [
      '--experimental-vm-modules',
      '--no-warnings=ExperimentalWarning',
      'node_modules/jest/bin/jest.js',
      '--maxWorkers=2',
      '--json',
      `--outputFile=${outputFile}`,
      ...args,
    ],
    // A run that hangs (a leaked connection) must end CI, not wait for its limit.
    { stdio: 'inherit', env: { ...process.env, TEST_DB: db }, timeout: 10 * 60 * 1000 },
  );
  try {
    const report = JSON.parse(readFileSync(outputFile, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    if (report.numFailedTestSuites > 0 || report.numTotalTests === 0) broken = true;
  } catch {
    broken = true;
  }
  if (result.status !== 0) broken = true;
}

console.log('\n=== consumers ===');
const consumersReport = join(dir, 'consumers.json');
const consumers = spawnSync(process.execPath, ['scripts/test-consumers.mjs'], {
  stdio: 'inherit',
  env: { ...process.env, REPORT_FILE: consumersReport },
  timeout: 15 * 60 * 1000,
});
try {
  const report = JSON.parse(readFileSync(consumersReport, 'utf8'));
  passed += report.passed;
  failed += report.failed;
  if (report.broken) broken = true;
} catch {
  broken = true;
}
if (consumers.status !== 0) broken = true;

console.log(
  `\ntest:all: ${passed} passed, ${failed} failed${broken && failed === 0 ? '; a suite or app did not run to the end (see above)' : ''}`,
);
process.exit(broken || failed > 0 ? 1 : 0);
