import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
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
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify([join(root, file), replace])], { cwd: root, encoding: 'utf8' });
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
