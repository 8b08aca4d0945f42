import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
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
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/access-tokens', '**/access-tokens/**'], message: "Import the library as 'nestjs-access-tokens'." }],
      }],
    },
  },
  // Command-line scripts report on the console.
  { files: ['scripts/**'], rules: { 'no-console': 'off' } },
);
