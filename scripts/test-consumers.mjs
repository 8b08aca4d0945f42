// Proves the package the way users meet it: packs it, installs the tarball into each app under
// test/consumers/ (each with its own package.json and lock file), builds the app and runs its tests
// (`npm test`, Jest, and `npm run test:vitest` where the app has it).
// Each app names its database in package.json ("config": { "database": "sqlite" | "postgres" |
// "mariadb" }) and gets a database of its own in DATABASE_URL; a missing service fails the run.
// Each gets a fresh random TOKEN_SECRET too, as a deployment passes the module's secret.
//
//   node scripts/test-consumers.mjs [name ...]   (all apps when none is named)
//
// With REPORT_FILE set, writes { passed, failed, broken } there for scripts/test-all.mjs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';

const root = resolve(import.meta.dirname, '..');
const consumersDir = join(root, 'test/consumers');
const only = process.argv.slice(2);
const names = readdirSync(consumersDir).filter(
  (name) => existsSync(join(consumersDir, name, 'package.json')) && (only.length === 0 || only.includes(name)),
);
if (names.length === 0) {
  console.error(`No consumer app${only.length ? ` named ${only.join(', ')}` : ''} in test/consumers`);
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'consumers-'));
const started = Date.now();
const minutes = (since) => `${((Date.now() - since) / 60000).toFixed(2)} min`;

/** Runs a command, prefixing its output with the app's name; resolves to its exit code. */
function run(label, command, args, options = {}) {
  return new Promise((done) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10 * 60 * 1000);
    for (const stream of [child.stdout, child.stderr]) {
      let rest = '';
      stream.on('data', (chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop();
        for (const line of lines) console.log(`[${label}] ${line}`);
      });
      stream.on('end', () => rest && console.log(`[${label}] ${rest}`));
    }
    child.on('close', (code) => {
      clearTimeout(timer);
      done(code ?? 1);
    });
  });
}

const databases = {
  sqlite: {
    async create(name) {
      return { url: `sqlite:${join(work, `${name}.sqlite`)}`, drop: async () => {} };
    },
  },
  postgres: {
    async create(name) {
      const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.query(`CREATE DATABASE ${name}`);
      await admin.end();
      return {
        url: `postgres://postgres@127.0.0.1:5432/${name}`,
        drop: async () => {
          const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
          await client.connect();
          await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await client.end();
        },
      };
    },
  },
  mariadb: {
    async create(name) {
      const admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
      await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      await admin.end();
      return {
        url: `mysql://root@127.0.0.1:3306/${name}`,
        drop: async () => {
          const client = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
          await client.query(`DROP DATABASE IF EXISTS ${name}`);
          await client.end();
        },
      };
    },
  },
};

console.log('consumers: packing the library');
const packed = await new Promise((done, fail) => {
  const child = spawn('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.on('close', (code) =>
    code === 0 ? done(join(work, JSON.parse(out)[0].filename)) : fail(new Error(`npm pack exited ${code}`)),
  );
});
console.log(`consumers: ${packed}`);

// Installs run side by side (they wait on the network and the disk); builds and tests one at a time.
const apps = await Promise.all(
  names.map(async (name) => {
    const dir = join(work, name);
    cpSync(join(consumersDir, name), dir, {
      recursive: true,
      filter: (source) => !/[\\/](node_modules|dist|coverage)$/.test(source),
    });
    const since = Date.now();
    const code = await run(name, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', packed], {
      cwd: dir,
    });
    console.log(`[${name}] install: ${code === 0 ? 'ok' : `failed (${code})`} in ${minutes(since)}`);
    return { name, dir, installed: code === 0 };
  }),
);

let passed = 0;
let failed = 0;
/** Apps that did not install, build or report, by what went wrong: each fails the run. */
const brokenApps = [];
let broken = false;
for (const app of apps) {
  if (!app.installed) {
    broken = true;
    brokenApps.push(`${app.name} (install)`);
    continue;
  }
  const since = Date.now();
  const manifest = JSON.parse(readFileSync(join(app.dir, 'package.json'), 'utf8'));
  const kind = manifest.config?.database ?? 'sqlite';
  if (!databases[kind]) throw new Error(`${app.name}: config.database must be sqlite, postgres or mariadb`);
  const database = await databases[kind].create(`consumer_${app.name.replace(/\W/g, '_')}_${process.pid}`);
  const env = {
    ...process.env,
    DATABASE_URL: database.url,
    TOKEN_SECRET: randomBytes(32).toString('base64url'),
    CI: 'true',
  };
  try {
    if ((await run(app.name, 'npm', ['run', 'build'], { cwd: app.dir, env })) !== 0) {
      broken = true;
      brokenApps.push(`${app.name} (build)`);
      continue;
    }
    // `npm test` runs Jest; an app with a "test:vitest" script runs Vitest too. Both write Jest's
    // JSON report (Vitest's json reporter has its shape).
    const runners = { jest: (report) => ['test', '--', '--ci', '--json', `--outputFile=${report}`] };
    if (manifest.scripts?.['test:vitest']) {
      runners.vitest = (report) => [
        'run',
        'test:vitest',
        '--',
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${report}`,
      ];
    }
    for (const [runner, args] of Object.entries(runners)) {
      const report = join(app.dir, `${runner}-report.json`);
      const code = await run(app.name, 'npm', args(report), { cwd: app.dir, env });
      try {
        const result = JSON.parse(readFileSync(report, 'utf8'));
        passed += result.numPassedTests;
        failed += result.numFailedTests;
        if (result.numFailedTestSuites > 0 || result.numTotalTests === 0) brokenApps.push(`${app.name} (${runner})`);
      } catch {
        brokenApps.push(`${app.name} (${runner}: no report)`);
      }
      if (code !== 0 && !brokenApps.some((entry) => entry.startsWith(`${app.name} (${runner}`))) {
        brokenApps.push(`${app.name} (${runner} exited ${code})`);
      }
      broken ||= brokenApps.length > 0;
    }
  } finally {
    await database.drop();
    console.log(`[${app.name}] build and tests in ${minutes(since)}`);
  }
}

if (process.env.REPORT_FILE) writeFileSync(process.env.REPORT_FILE, JSON.stringify({ passed, failed, broken }));
if (!broken && failed === 0) rmSync(work, { recursive: true, force: true });
else console.log(`consumers: apps left in ${work} for a look`);
console.log(
  `\nconsumers (${minutes(started)}): ${passed} passed, ${failed} failed${brokenApps.length > 0 ? `; broken: ${brokenApps.join(', ')}` : ''}`,
);
process.exit(broken || failed > 0 ? 1 : 0);
