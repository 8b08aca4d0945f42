import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

/** The messages of the project's ESLint setup for `file` with `replace` applied to its text (real Node, as `npm run lint` runs it). */
function lint(file: string, replace: [string, string][] = []): string[] {
  const script = `
    import { ESLint } from 'eslint';
    import { readFileSync } from 'node:fs';
    const [file, replace] = JSON.parse(process.argv[1]);
    let text = readFileSync(file, 'utf8');
    for (const [from, to] of replace) {
      if (!text.includes(from)) throw new Error('not in the file: ' + from);
      text = text.replace(from, to);
    }
    const [result] = await new ESLint({ cwd: ${JSON.stringify(root)} }).lintText(text, { filePath: file });
    process.stdout.write(JSON.stringify(result.messages.map((message) => message.ruleId + ': ' + message.message)));`;
  const out = execFileSync(
    process.execPath,
    ['--input-type=module', '-e', script, JSON.stringify([join(root, file), replace])],
    { cwd: root, encoding: 'utf8' },
  );
  return JSON.parse(out) as string[];
}

/**
 * `local/no-type-only-class-in-decorated-signature` (scripts/lint/decorator-metadata.mjs): what tsc
 * records for decorators is what Nest, pipes and Swagger read, so a class imported as a type in a
 * decorated signature (recorded as `Function`) fails `npm run lint`.
 */
describe('the decorator metadata lint rule', () => {
  const CONTROLLER = 'src/access-tokens/routes/token-routes.controller.ts';

  it('refuses the ready-made routes typed with their DTO classes imported as types, as 0.1.0 shipped them', () => {
    expect(lint(CONTROLLER, [['body: Validated<GenerateTokenDto>', 'body: GenerateTokenDto']])).toEqual([
      "local/no-type-only-class-in-decorated-signature: 'GenerateTokenDto' is a class imported as a type: tsc records it as Function in design:paramtypes, which pipes and Swagger then read as the class Function. Import it as a value, or type this with a type that is not a class.",
    ]);
  }, 60_000);

  it('lets interfaces imported as types through, and the files as they are', () => {
    // The store's constructor takes its options, an interface, by an @Inject() token.
    expect(lint('src/access-tokens/storage/token-store.ts')).toEqual([]);
    expect(lint(CONTROLLER)).toEqual([]);
  }, 60_000);
});

/** scripts/lint/import-cycles.mjs, the last step of `npm run lint`. */
describe('the import cycle check', () => {
  const check = (...folders: string[]) =>
    spawnSync(process.execPath, [join(root, 'scripts/lint/import-cycles.mjs'), ...folders], {
      cwd: root,
      encoding: 'utf8',
    });

  it('finds none in the project', () => {
    const { status, stdout } = check();
    expect({ status, stdout }).toEqual({
      status: 0,
      stdout: expect.stringMatching(/^import cycles: none in \d+ files\n$/),
    });
  });

  it('refuses a cycle closed by a type-only import, naming its files in order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cycles-'));
    try {
      mkdirSync(join(dir, 'edge'));
      writeFileSync(
        join(dir, 'options.ts'),
        "import type { Request } from './edge/authenticator.js';\nexport interface Options { key(request: Request): string }\n",
      );
      writeFileSync(
        join(dir, 'edge/authenticator.ts'),
        "import type { Options } from '../options.js';\nexport interface Request { options: Options }\n",
      );
      writeFileSync(
        join(dir, 'alone.ts'),
        "import type { Options } from './options.js';\nexport type Alone = Options;\n",
      );
      const { status, stderr } = check(dir);
      expect(status).toBe(1);
      expect(stderr).toContain('import cycle (2 files): ');
      expect(stderr).toMatch(/edge\/authenticator\.ts → .*options\.ts → .*edge\/authenticator\.ts/);
      expect(stderr).not.toContain('alone.ts');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
