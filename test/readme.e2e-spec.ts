import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';

/**
 * Every code block of the README's "Using the module in your app" section is exercised: each names
 * its source (`<!-- from: path -->`), a consumer app that `npm run test:consumers` builds and
 * tests, and each of its lines stands in that file, in order (`// …` marks lines left out). And a
 * reader has nothing to guess: each TypeScript block imports what it uses, as its source does,
 * shows what its source declares, and the app's own helpers it imports are shown where they are
 * defined.
 */
const root = join(import.meta.dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const start = readme.indexOf('## Using the module in your app');
const section = readme.slice(start, readme.indexOf('\n## ', start + 1));

interface Block {
  source: string | null;
  language: string;
  lines: string[];
}

function blocks(text: string): Block[] {
  const found: Block[] = [];
  for (const match of text.matchAll(/(?:<!-- (?:from|exercised by): ([^>]+?) -->\n)?```(\w*)\n([\s\S]*?)```/g)) {
    found.push({ source: match[1] ?? null, language: match[2]!, lines: match[3]!.split('\n') });
  }
  return found;
}

const meaningful = (lines: string[]): string[] => lines.map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('// …'));

/** What a file binds at its top level: the names it imports, with the module each comes from, the names it declares, and its entities. */
function bindings(code: string): { imported: Map<string, string>; declared: Set<string>; entities: Set<string> } {
  const imported = new Map<string, string>();
  const declared = new Set<string>();
  const entities = new Set<string>();
  const file = ts.createSourceFile('file.ts', code, ts.ScriptTarget.Latest);
  for (const statement of file.statements) {
    if (ts.isImportDeclaration(statement)) {
      const from = (statement.moduleSpecifier as ts.StringLiteral).text;
      const { name, namedBindings } = statement.importClause ?? {};
      const names = namedBindings && ts.isNamedImports(namedBindings) ? namedBindings.elements.map((element) => element.name) : [namedBindings?.name];
      for (const bound of [name, ...names]) if (bound) imported.set(bound.text, from);
    } else if (ts.isVariableStatement(statement)) {
      for (const { name } of statement.declarationList.declarations) if (ts.isIdentifier(name)) declared.add(name.text);
    } else if (ts.isClassDeclaration(statement) || ts.isFunctionDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement)) {
      if (!statement.name) continue;
      declared.add(statement.name.text);
      if (ts.isClassDeclaration(statement) && ts.getDecorators(statement)?.some((decorator) => decorator.expression.getText(file).startsWith('Entity('))) entities.add(statement.name.text);
    }
  }
  return { imported, declared, entities };
}

const DECLARING = new Set([ts.SyntaxKind.ClassKeyword, ts.SyntaxKind.InterfaceKeyword, ts.SyntaxKind.TypeKeyword, ts.SyntaxKind.EnumKeyword, ts.SyntaxKind.FunctionKeyword, ts.SyntaxKind.ConstKeyword, ts.SyntaxKind.LetKeyword, ts.SyntaxKind.VarKeyword]);
const OPENING = new Map([[ts.SyntaxKind.OpenParenToken, ts.SyntaxKind.CloseParenToken], [ts.SyntaxKind.OpenBracketToken, ts.SyntaxKind.CloseBracketToken], [ts.SyntaxKind.OpenBraceToken, ts.SyntaxKind.CloseBraceToken]]);

/**
 * The names a block uses, and those it declares (`class X`, `const X`, a parameter `x: T`): its
 * words outside import declarations, comments and strings. A property name (`a.name`, `{ name: … }`)
 * is no use. A block is a fragment, which a parser reads with errors, so its tokens are read instead.
 */
function namesIn(code: string): { used: Set<string>; declared: Set<string> } {
  const file = ts.createSourceFile('block.ts', code, ts.ScriptTarget.Latest);
  for (const statement of file.statements.filter(ts.isImportDeclaration)) {
    const start = statement.getStart(file);
    code = code.slice(0, start) + ' '.repeat(statement.end - start) + code.slice(statement.end);
  }
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, code);
  // Each token with the bracket it stands in: `(`, `[`, `{`, or a template's `${`.
  const tokens: { kind: ts.SyntaxKind; text: string; inside: ts.SyntaxKind | undefined }[] = [];
  const open: ts.SyntaxKind[] = [];
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    // The `}` of a `${…}` goes on with the template's text.
    if (kind === ts.SyntaxKind.CloseBraceToken && open.at(-1) === ts.SyntaxKind.TemplateHead) kind = scanner.reScanTemplateToken(false);
    if (kind === OPENING.get(open.at(-1)!) || kind === ts.SyntaxKind.TemplateMiddle || kind === ts.SyntaxKind.TemplateTail) open.pop();
    tokens.push({ kind, text: scanner.getTokenText(), inside: open.at(-1) });
    if (OPENING.has(kind)) open.push(kind);
    if (kind === ts.SyntaxKind.TemplateHead || kind === ts.SyntaxKind.TemplateMiddle) open.push(ts.SyntaxKind.TemplateHead);
  }
  const used = new Set<string>();
  const declared = new Set<string>();
  tokens.forEach(({ kind, text, inside }, at) => {
    const before = tokens[at - 1]?.kind;
    const word = kind === ts.SyntaxKind.Identifier || (kind >= ts.SyntaxKind.FirstKeyword && kind <= ts.SyntaxKind.LastKeyword);
    if (!word || before === ts.SyntaxKind.DotToken || before === ts.SyntaxKind.QuestionDotToken) return;
    const named = tokens[at + 1]?.kind === ts.SyntaxKind.ColonToken;
    if (named && inside === ts.SyntaxKind.OpenBraceToken && (before === ts.SyntaxKind.OpenBraceToken || before === ts.SyntaxKind.CommaToken)) return;
    const parameter = named && inside === ts.SyntaxKind.OpenParenToken && [ts.SyntaxKind.OpenParenToken, ts.SyntaxKind.CommaToken, ts.SyntaxKind.CloseParenToken].includes(before!);
    if (parameter || (before !== undefined && DECLARING.has(before))) declared.add(text);
    else used.add(text);
  });
  // A name the block declares itself (a parameter `request`) is not the one its source imports.
  return { used: new Set([...used].filter((name) => !declared.has(name))), declared };
}

/** The file a relative import names, from the file that imports it (`./x.js` and `./x` are `./x.ts`). */
const resolve = (from: string, specifier: string): string => join(dirname(from), specifier.replace(/\.js$/, '') + '.ts');

const consumers = readdirSync(join(root, 'test/consumers')).filter((name) => existsSync(join(root, 'test/consumers', name, 'package.json')));
const manifestOf = (name: string) =>
  JSON.parse(readFileSync(join(root, 'test/consumers', name, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

describe('the README\'s "Using the module in your app"', () => {
  const found = blocks(section);

  it('has code blocks, each naming what exercises it', () => {
    expect(found.length).toBeGreaterThan(5);
    expect(found.filter((block) => block.source === null).map((block) => block.lines.join('\n'))).toEqual([]);
  });

  it.each(found.filter((block) => block.source?.startsWith('test/')).map((block) => [block.source!, block] as const))(
    'quotes %s line for line',
    (source, block) => {
      const file = meaningful(readFileSync(join(root, source), 'utf8').split('\n'));
      let at = 0;
      for (const line of meaningful(block.lines)) {
        const next = file.indexOf(line, at);
        expect({ line, found: next >= 0 }).toEqual({ line, found: true });
        at = next + 1;
      }
    },
  );

  const typescript = found.filter((block) => block.language === 'ts' && block.source && existsSync(join(root, block.source)));
  /** What the blocks quoted from each file declare: one block may use what the next one shows. */
  const shownDeclared = new Map<string, Set<string>>();
  for (const block of typescript) {
    shownDeclared.set(block.source!, new Set([...(shownDeclared.get(block.source!) ?? []), ...namesIn(block.lines.join('\n')).declared]));
  }

  it.each(typescript.map((block) => [block.source!, block] as const))(
    "quotes %s with the imports and declarations of the names it uses, and the app's own helpers it imports",
    (source, block) => {
      const file = bindings(readFileSync(join(root, source), 'utf8'));
      const code = block.lines.join('\n');
      const shown = bindings(code);
      const missing: string[] = [];
      for (const name of namesIn(code).used) {
        const from = file.imported.get(name);
        if (from !== undefined && shown.imported.get(name) !== from) missing.push(`${name}, imported from '${from}'`);
        if (file.declared.has(name) && !shownDeclared.get(source)!.has(name)) missing.push(`${name}, declared in ${source}`);
        // The app's own code, but for its entities (the module's options name them): shown where it is defined.
        const defined = from?.startsWith('.') ? resolve(source, from) : undefined;
        if (defined && !bindings(readFileSync(join(root, defined), 'utf8')).entities.has(name) && !shownDeclared.get(defined)?.has(name)) {
          missing.push(`${name}, defined in ${defined}`);
        }
      }
      // Named by its first line past the imports, as two blocks may quote one file.
      const first = meaningful(block.lines).find((line) => !line.startsWith('import'));
      expect({ block: first, missing }).toEqual({ block: first, missing: [] });
    },
  );

  it('installs what every consumer app installs, and every peer the package requires', () => {
    const install = found.find((block) => block.language === 'sh' && block.lines[0]!.startsWith('npm install nestjs-access-tokens'));
    const named = install!.lines[0]!.split(/\s+/).slice(2);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    const required = Object.keys(manifest.peerDependencies).filter(
      (peer) => !manifest.peerDependenciesMeta[peer]?.optional && !['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'].includes(peer),
    );
    expect(named.slice(1).sort()).toEqual(required.sort());
    expect(consumers).toHaveLength(3);
    for (const name of consumers) {
      expect({ name, missing: required.filter((peer) => !(peer in manifestOf(name).dependencies)) }).toEqual({ name, missing: [] });
    }
  });
});
