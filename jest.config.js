/**
 * NestJS 12 ships as ES modules only, and Jest loads ES modules only in its VM-modules mode on
 * Node 20, so the specs run as ESM (`npm test` passes --experimental-vm-modules).
 * TEST_DB selects the database of the e2e specs: sqlite (default), postgres or mariadb.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    // The package by its name, as the demo and the specs import it: the build that ships (dist/lib,
    // as tsc emitted it; `pretest` builds it), not a per-file transpile of its sources, whose
    // decorator metadata differs (a class imported as a type is `Object` to ts-jest, `Function` to
    // tsc). The specs that reach beneath the public entries do so through `#internal`, built too: one copy.
    '^nestjs-access-tokens$': '<rootDir>/dist/lib/index.js',
    '^nestjs-access-tokens/(testing|swagger|cli|graphql|routes|terminus)$': '<rootDir>/dist/lib/$1/index.js',
    '^#internal$': '<rootDir>/dist/lib/internal.js',
    // Sources import './x.js' as Node's ESM resolution wants; Jest resolves the .ts file.
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // @fastify/static (under @nestjs/platform-fastify and mercurius) requires content-disposition 3,
    // ES-module only, which Jest cannot require() on Node 20; version 2 (Express's) has the same API.
    '^content-disposition$': '<rootDir>/node_modules/content-disposition/dist/index.js',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  // The consumer apps have their own package.json, dependencies and tests (npm run test:consumers).
  // The outage specs cut the connection to a database server, which SQLite does not have, and the
  // usage races are PostgreSQL's and MariaDB's (with Redis), which `npm test` needs none of; the demo
  // secret spec is about the demo's own SQLite file and start-up, and the bench's smoke run picks
  // its databases itself, whatever TEST_DB says, the start-up spec runs its own app on SQLite, the
  // CLI's spec starts the whole demo for each command (cli-databases.e2e-spec.ts runs the CLI on
  // each database), and the lint and API report specs read files: once.
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/consumers/',
    ...((process.env.TEST_DB ?? 'sqlite') === 'sqlite'
      ? [
          '<rootDir>/test/outages.e2e-spec.ts',
          '<rootDir>/test/store-outage.e2e-spec.ts',
          '<rootDir>/test/observability-outage.e2e-spec.ts',
          '<rootDir>/test/usage-races.e2e-spec.ts',
        ]
      : [
          '<rootDir>/test/cli.e2e-spec.ts',
          '<rootDir>/test/demo-secret.e2e-spec.ts',
          '<rootDir>/test/bench.e2e-spec.ts',
          '<rootDir>/test/startup.e2e-spec.ts',
          '<rootDir>/test/lint.e2e-spec.ts',
          '<rootDir>/test/api-report.e2e-spec.ts',
        ]),
  ],
  modulePathIgnorePatterns: ['<rootDir>/test/consumers/'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  testTimeout: 30000,
};
