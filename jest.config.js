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
  // Sources import './x.js' as Node's ESM resolution wants; Jest resolves the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  testTimeout: 30000,
};
