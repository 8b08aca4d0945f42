import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize } from 'node:path';

/**
 * What `npm install nestjs-access-tokens` gives an app, read off `npm pack` and the built files
 * (`npm test` builds first). The apps in test/consumers install the real tarball.
 */
const root = join(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  main: string;
  types: string;
  exports: Record<string, string | Record<string, string>>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const OPTIONAL_PEERS = Object.keys(manifest.peerDependenciesMeta).filter(
  (name) => manifest.peerDependenciesMeta[name]?.optional,
);

function packedFiles(): string[] {
  // --ignore-scripts: pack the library as built, without building it again.
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((file) => file.path).sort();
}

/** The package a bare import specifier names: `@scope/name` or `name`. */
const packageOf = (specifier: string): string =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** The modules that loading `entry` loads, following static imports only, and the packages they import. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(join(root, file), 'utf8');
    for (const [, specifier] of source.matchAll(/^\s*(?:import|export)\b[^'"]*?(?:from\s*)?['"]([^'"]+)['"]/gm)) {
      if (specifier!.startsWith('.')) visit(normalize(join(dirname(file), specifier!)));
      else if (!specifier!.startsWith('node:')) packages.add(packageOf(specifier!));
    }
  };
  visit(normalize(entry));
  return { files, packages };
}

describe('the npm package', () => {
  const files = packedFiles();

  it('ships the built library, README and LICENSE, and nothing of the demo, tests or bench', () => {
    const others = files.filter((file) => !file.startsWith('dist/lib/'));
    expect(others).toEqual(['LICENSE', 'README.md', 'package.json']);
    const library = files.filter((file) => file.startsWith('dist/lib/'));
    expect(library.filter((file) => !/\.(js|d\.ts|js\.map)$/.test(file))).toEqual([]);
    expect(library.filter((file) => /spec|fixture/.test(file))).toEqual([]);
    // Every module with its types and its source map (sources inlined: the .ts files are not shipped).
    for (const js of library.filter((file) => file.endsWith('.js'))) {
      expect(files).toContain(js.replace(/\.js$/, '.d.ts'));
      expect(files).toContain(`${js}.map`);
    }
    expect(JSON.parse(readFileSync(join(root, 'dist/lib/index.js.map'), 'utf8'))).toHaveProperty('sourcesContent');
  });

  it('points main, types and every export at files it ships', () => {
    const targets = [
      manifest.main,
      manifest.types,
      ...Object.values(manifest.exports).flatMap((target) =>
        typeof target === 'string' ? [target] : Object.values(target),
      ),
    ];
    for (const target of targets) expect(files).toContain(normalize(target));
  });

  it('never loads an optional peer, or the testing helpers, from its main entry', () => {
    const { files: loaded, packages } = staticGraph(manifest.main);
    for (const peer of OPTIONAL_PEERS) expect(packages).not.toContain(peer);
    expect([...loaded].filter((file) => file.includes('/testing/'))).toEqual([]);
  });

  it('keeps @nestjs/swagger, an optional peer, behind nestjs-access-tokens/swagger', () => {
    expect(manifest.peerDependenciesMeta['@nestjs/swagger']).toEqual({ optional: true });
    const main = staticGraph(manifest.main);
    expect(main.packages).not.toContain('@nestjs/swagger');
    expect([...main.files].filter((file) => file.includes('/swagger/'))).toEqual([]);
    // The ready-made routes name the models of their answers, which only the swagger entry defines.
    expect([...main.files]).toEqual(
      expect.arrayContaining([
        normalize('dist/lib/routes/token-routes.controller.js'),
        normalize('dist/lib/routes/session-routes.controller.js'),
      ]),
    );
    expect(staticGraph('dist/lib/swagger/index.js').packages).toContain('@nestjs/swagger');
    // Real Node, as an app loads it, both ways.
    const script = `
      const required = require('nestjs-access-tokens/swagger');
      import('nestjs-access-tokens/swagger').then((imported) => process.stdout.write(JSON.stringify({
        same: required.createAccessTokensDocument === imported.createAccessTokensDocument,
        exports: Object.keys(required).sort(),
      })));`;
    expect(JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' }))).toEqual({
      same: true,
      exports: [
        'ACCESS_TOKENS_REFUSAL_SCHEMA',
        'ACCESS_TOKEN_SECURITY_SCHEMES',
        'AccessTokenViewModel',
        'CreatedTokenModel',
        'GeneratedTokenModel',
        'INVALID_INPUT_SCHEMA',
        'TokenPairModel',
        'addAccessTokensSecurity',
        'createAccessTokensDocument',
      ],
    });
  });

  it('keeps graphql, an optional peer, behind nestjs-access-tokens/graphql', () => {
    expect(manifest.peerDependenciesMeta.graphql).toEqual({ optional: true });
    expect(staticGraph(manifest.main).packages).not.toContain('graphql');
    expect(staticGraph('dist/lib/graphql/index.js').packages).toContain('graphql');
    // Real Node, both ways, with the one graphql an app's server (Apollo, Mercurius) loads.
    const script = `
      const required = require('nestjs-access-tokens/graphql');
      import('nestjs-access-tokens/graphql').then((imported) => {
        const { buildSchema, parse, validate } = require('graphql');
        const errors = validate(buildSchema('type Query { a: Int }'), parse('{ x: a y: a }'), [required.queryCostLimit({ maxAliases: 1 })]);
        process.stdout.write(JSON.stringify({ same: required.queryCostLimit === imported.queryCostLimit, exports: Object.keys(required).sort(), codes: errors.map((e) => e.extensions.code) }));
      });`;
    expect(JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' }))).toEqual({
      same: true,
      exports: ['GRAPHQL_ERROR_CODES', 'QUERY_COST_DEFAULTS', 'QUERY_TOO_COSTLY', 'queryCostLimit'],
      codes: ['QUERY_TOO_COSTLY'],
    });
  });

  it('keeps @nestjs/terminus, an optional peer, behind nestjs-access-tokens/terminus', () => {
    expect(manifest.peerDependenciesMeta['@nestjs/terminus']).toEqual({ optional: true });
    expect(manifest.peerDependenciesMeta['@opentelemetry/api']).toBeUndefined();
    expect(staticGraph(manifest.main).packages).not.toContain('@nestjs/terminus');
    expect(staticGraph('dist/lib/terminus/index.js').packages).toContain('@nestjs/terminus');
    const script = `
      const required = require('nestjs-access-tokens/terminus');
      import('nestjs-access-tokens/terminus').then((imported) => {
        process.stdout.write(JSON.stringify({ same: required.AccessTokensHealthIndicator === imported.AccessTokensHealthIndicator, exports: Object.keys(required).sort() }));
      });`;
    expect(JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' }))).toEqual({
      same: true,
      exports: ['AccessTokensHealthIndicator'],
    });
  });

  it('imports only packages it declares, at run time and in its types', () => {
    const declared = new Set([
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies),
      ...builtinModules,
    ]);
    const imported = new Set<string>();
    for (const file of files.filter((name) => /\.(js|d\.ts)$/.test(name))) {
      const source = readFileSync(join(root, file), 'utf8');
      for (const [, specifier] of source.matchAll(/(?:from\s*|import\s*\(\s*)['"]([^'"./][^'"]*)['"]/g)) {
        if (!specifier!.startsWith('node:')) imported.add(packageOf(specifier!));
      }
    }
    expect([...imported].filter((name) => !declared.has(name))).toEqual([]);
  });

  it('loads with require() as with import, as one copy of each class (real Node, not Jest)', () => {
    // Self-reference: from its own folder, the package resolves by name through its exports.
    const script = `
      const required = require('nestjs-access-tokens');
      import('nestjs-access-tokens').then((imported) => {
        const testing = require('nestjs-access-tokens/testing');
        process.stdout.write(JSON.stringify({
          same: required.AccessTokensModule === imported.AccessTokensModule && required.TokensService === imported.TokensService
            && required.errors.AccessTokensError === imported.errors.AccessTokensError,
          exports: Object.keys(required).sort().join() === Object.keys(imported).filter((name) => name !== 'default' && name !== 'module.exports').sort().join()
            && Object.keys(required).length,
          testing: typeof testing.ManualClock,
        }));
      });`;
    const result = JSON.parse(
      execFileSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' }),
    ) as Record<string, unknown>;
    expect(result).toEqual({ same: true, exports: expect.any(Number), testing: 'function' });
    // The values of the main entry (its types are not there at run time), the same both ways.
    expect(result.exports).toBeGreaterThan(20);
  });
});
