/**
 * Jest for an ES-module NestJS app. NestJS 12 ships as ES modules only, and Jest loads ES modules
 * only in its VM-modules mode: `npm test` runs it with `node --experimental-vm-modules`.
 * tsconfig.json sets `isolatedModules: true`, which ts-jest needs with `module: "nodenext"`: it then
 * compiles each file on its own, without type-checking (`npm run build` type-checks).
 * @type {import('jest').Config}
 */
export default {
  // Load the .ts specs and sources as ES modules (without it: "Cannot use import statement outside a module").
  extensionsToTreatAsEsm: ['.ts'],
  // ts-jest compiles them to ES modules too.
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
  // The sources import './x.js', as Node's ES-module resolution wants; Jest then finds ./x.ts.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  // The specs only, not their compiled copies that `npm run build` leaves in dist/.
  testMatch: ['<rootDir>/test/**/*.spec.ts'],
  // The specs share one SQLite file (DATABASE_URL), whose schema each app synchronizes as it
  // starts: one spec file at a time.
  maxWorkers: 1,
};
