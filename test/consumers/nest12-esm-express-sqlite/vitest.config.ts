import { defineConfig } from 'vitest/config';

/**
 * Vitest for a NestJS app needs no plugin on Vite 8 (what Vitest 4.1 and later install): Vite
 * compiles TypeScript with Oxc, which reads `experimentalDecorators` and `emitDecoratorMetadata`
 * from tsconfig.json and emits the decorator metadata that Nest's injection and TypeORM's columns
 * read. Vite 7 and earlier compile with esbuild, which emits none (Nest then fails with "Nest can't
 * resolve dependencies of ... (?, ...)"): there, add `unplugin-swc` (Nest's SWC recipe).
 */
export default defineConfig({
  test: {
    // This app runs Jest too, on test/*.spec.ts (npm test); Vitest takes test/*.test.ts (npm run test:vitest).
    include: ['test/**/*.test.ts'],
    // The tests share one SQLite file (DATABASE_URL), whose schema each app synchronizes as it starts.
    fileParallelism: false,
  },
});
