import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import decoratorMetadata from './scripts/lint/decorator-metadata.mjs';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/', 'test/consumers/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
  },
  // The demo's token settings page: a script the browser runs as it is, with no build step.
  {
    files: ['src/settings-page/public/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { document: 'readonly', fetch: 'readonly', navigator: 'readonly', sessionStorage: 'readonly' },
    },
  },
  // The demo uses the library as an app does, by its package name, so it can use nothing a user cannot.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/access-tokens/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/access-tokens', '**/access-tokens/**'],
              message: "Import the library as 'nestjs-access-tokens'.",
            },
          ],
        },
      ],
    },
  },
  // test/ and bench/ use the package as an app does, by its public entries; what lies beneath, only
  // through its one internal entry, '#internal' (src/access-tokens/internal.ts).
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/access-tokens', '**/src/access-tokens/**'],
              message: "Import 'nestjs-access-tokens' (or one of its subpaths), or '#internal' for what lies beneath.",
            },
          ],
        },
      ],
    },
  },
  // What tsc records for decorators is what Nest, its pipes and Swagger read at run time: no class
  // imported as a type in a decorated signature (scripts/lint/decorator-metadata.mjs). The rule asks
  // the type checker whether a type-only import is a class.
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { local: decoratorMetadata },
    rules: { 'local/no-type-only-class-in-decorated-signature': 'error' },
  },
  // Command-line scripts report on the console.
  { files: ['scripts/**'], rules: { 'no-console': 'off' } },
);
