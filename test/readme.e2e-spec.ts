import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';

/**
 * Every code block of the README and of the guides in docs/ is exercised: each names its source
 * (`<!-- from: path -->`, a tested file: a consumer app that `npm run test:consumers` builds and
 * tests, a spec or its fixture) or what exercises it (`<!-- exercised by: ... -->`), and each line
 * of a `from:` block stands in that file, in order (`// …` marks lines left out). And a reader has
 * nothing to guess: each TypeScript block imports what it uses, as its source does, shows what its
 * source declares, and the app's own helpers it imports are shown where they are defined. The
 * README stays short, and no relative link of the README or the guides leads nowhere.
 */
const root = join(import.meta.dirname, '..');
/** The documents whose snippets are checked: the README, and every guide in docs/. */
const documents = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const readme = read('README.md');

interface Block {
  /** The file it is quoted from (`from:`), or what exercises it (`exercised by:`). */
  source: string | null;
  quoted: boolean;
  language: string;
  lines: string[];
}

function blocks(text: string): Block[] {
  const found: Block[] = [];
  for (const match of text.matchAll(/(?:<!-- (from|exercised by): ([^>]+?) -->\n+)?```(\w*)\n([\s\S]*?)```/g)) {
    found.push({
      source: match[2] ?? null,
      quoted: match[1] === 'from',
      language: match[3]!,
      lines: match[4]!.split('\n'),
    });
  }
  return found;
}

const meaningful = (lines: string[]): string[] =>
  lines.map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('// …'));
/**
 * Code without what a formatter changes: white space, and commas (it adds one after the last item
 * of a list it wraps, which a guide that keeps the list on one line has not).
 */
const unformatted = (code: string): string => code.replace(/[\s,]+/g, '');

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
      const names =
        namedBindings && ts.isNamedImports(namedBindings)
          ? namedBindings.elements.map((element) => element.name)
          : [namedBindings?.name];
      for (const bound of [name, ...names]) if (bound) imported.set(bound.text, from);
    } else if (ts.isVariableStatement(statement)) {
      for (const { name } of statement.declarationList.declarations) if (ts.isIdentifier(name)) declared.add(name.text);
    } else if (
      ts.isClassDeclaration(statement) ||
      ts.isFunctionDeclaration(statement) ||
      ts.isInterfaceDeclaration(statement) ||
      ts.isTypeAliasDeclaration(statement) ||
      ts.isEnumDeclaration(statement)
    ) {
      if (!statement.name) continue;
      declared.add(statement.name.text);
      if (
        ts.isClassDeclaration(statement) &&
        ts.getDecorators(statement)?.some((decorator) => decorator.expression.getText(file).startsWith('Entity('))
      )
        entities.add(statement.name.text);
    }
  }
  return { imported, declared, entities };
}

const DECLARING = new Set([
  ts.SyntaxKind.ClassKeyword,
  ts.SyntaxKind.InterfaceKeyword,
  ts.SyntaxKind.TypeKeyword,
  ts.SyntaxKind.EnumKeyword,
  ts.SyntaxKind.FunctionKeyword,
  ts.SyntaxKind.ConstKeyword,
  ts.SyntaxKind.LetKeyword,
  ts.SyntaxKind.VarKeyword,
]);
const OPENING = new Map([
  [ts.SyntaxKind.OpenParenToken, ts.SyntaxKind.CloseParenToken],
  [ts.SyntaxKind.OpenBracketToken, ts.SyntaxKind.CloseBracketToken],
  [ts.SyntaxKind.OpenBraceToken, ts.SyntaxKind.CloseBraceToken],
]);

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
    if (kind === ts.SyntaxKind.CloseBraceToken && open.at(-1) === ts.SyntaxKind.TemplateHead)
      kind = scanner.reScanTemplateToken(false);
    if (
      kind === OPENING.get(open.at(-1)!) ||
      kind === ts.SyntaxKind.TemplateMiddle ||
      kind === ts.SyntaxKind.TemplateTail
    )
      open.pop();
    tokens.push({ kind, text: scanner.getTokenText(), inside: open.at(-1) });
    if (OPENING.has(kind)) open.push(kind);
    if (kind === ts.SyntaxKind.TemplateHead || kind === ts.SyntaxKind.TemplateMiddle)
      open.push(ts.SyntaxKind.TemplateHead);
  }
  const used = new Set<string>();
  const declared = new Set<string>();
  tokens.forEach(({ kind, text, inside }, at) => {
    const before = tokens[at - 1]?.kind;
    const word =
      kind === ts.SyntaxKind.Identifier || (kind >= ts.SyntaxKind.FirstKeyword && kind <= ts.SyntaxKind.LastKeyword);
    if (!word || before === ts.SyntaxKind.DotToken || before === ts.SyntaxKind.QuestionDotToken) return;
    const named = tokens[at + 1]?.kind === ts.SyntaxKind.ColonToken;
    if (
      named &&
      inside === ts.SyntaxKind.OpenBraceToken &&
      (before === ts.SyntaxKind.OpenBraceToken || before === ts.SyntaxKind.CommaToken)
    )
      return;
    const parameter =
      named &&
      inside === ts.SyntaxKind.OpenParenToken &&
      [ts.SyntaxKind.OpenParenToken, ts.SyntaxKind.CommaToken, ts.SyntaxKind.CloseParenToken].includes(before!);
    if (parameter || (before !== undefined && DECLARING.has(before))) declared.add(text);
    else used.add(text);
  });
  // A name the block declares itself (a parameter `request`) is not the one its source imports.
  return { used: new Set([...used].filter((name) => !declared.has(name))), declared };
}

/** The file a relative import names, from the file that imports it (`./x.js` and `./x` are `./x.ts`). */
const resolve = (from: string, specifier: string): string =>
  join(dirname(from), specifier.replace(/\.js$/, '') + '.ts');

const consumers = readdirSync(join(root, 'test/consumers')).filter((name) =>
  existsSync(join(root, 'test/consumers', name, 'package.json')),
);
const manifestOf = (name: string) =>
  JSON.parse(readFileSync(join(root, 'test/consumers', name, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };

const found = new Map(documents.map((document) => [document, blocks(read(document))]));
/** Each block with the document it stands in, for the tables of the checks. */
const all = [...found].flatMap(([document, list]) => list.map((block) => ({ document, block })));

describe('the snippets of the README and of the guides in docs/', () => {
  it('are code blocks, each naming what exercises it', () => {
    expect(all.length).toBeGreaterThan(5);
    for (const document of documents) {
      const unnamed = found
        .get(document)!
        .filter((block) => block.source === null)
        .map((block) => block.lines.join('\n'));
      expect({ document, unnamed }).toEqual({ document, unnamed: [] });
    }
  });

  it.each(
    all.filter(({ block }) => block.quoted).map(({ document, block }) => [document, block.source!, block] as const),
  )('%s quotes %s line for line', (_document, source, block) => {
    expect({ source, exists: existsSync(join(root, source)) }).toEqual({ source, exists: true });
    // Line for line whatever the formatter did to either: a line a guide keeps whole may be wrapped
    // in the file, with a trailing comma.
    const file = unformatted(meaningful(read(source).split('\n')).join(''));
    let at = 0;
    for (const line of meaningful(block.lines)) {
      const next = file.indexOf(unformatted(line), at);
      expect({ line, found: next >= 0 }).toEqual({ line, found: true });
      at = next + unformatted(line).length;
    }
  });

  const typescript = all.filter(
    ({ block }) => block.quoted && block.language === 'ts' && existsSync(join(root, block.source!)),
  );
  /**
   * What the blocks quoted from each file declare, over every document: one block may use what
   * another shows, in the same guide or in the guide of that topic.
   */
  const shownDeclared = new Map<string, Set<string>>();
  for (const { block } of typescript) {
    shownDeclared.set(
      block.source!,
      new Set([...(shownDeclared.get(block.source!) ?? []), ...namesIn(block.lines.join('\n')).declared]),
    );
  }

  it.each(typescript.map(({ document, block }) => [document, block.source!, block] as const))(
    "%s quotes %s with the imports and declarations of the names it uses, and the app's own helpers it imports",
    (_document, source, block) => {
      const file = bindings(read(source));
      const code = block.lines.join('\n');
      const shown = bindings(code);
      const missing: string[] = [];
      for (const name of namesIn(code).used) {
        const from = file.imported.get(name);
        if (from !== undefined && shown.imported.get(name) !== from) missing.push(`${name}, imported from '${from}'`);
        if (file.declared.has(name) && !shownDeclared.get(source)!.has(name))
          missing.push(`${name}, declared in ${source}`);
        // The app's own code, but for its entities (the module's options name them): shown where it is defined.
        const defined = from?.startsWith('.') ? resolve(source, from) : undefined;
        if (defined && !bindings(read(defined)).entities.has(name) && !shownDeclared.get(defined)?.has(name)) {
          missing.push(`${name}, defined in ${defined}`);
        }
      }
      // Named by its first line past the imports, as two blocks may quote one file.
      const first = meaningful(block.lines).find((line) => !line.startsWith('import'));
      expect({ block: first, missing }).toEqual({ block: first, missing: [] });
    },
  );
});

describe('the README', () => {
  it("says first how to install the package, then how to run this repository's demo and tests", () => {
    const commands = found
      .get('README.md')!
      .slice(0, 2)
      .map((block) => block.lines.filter((line) => line !== '').map((line) => line.replace(/\s+#.*$/, '')));
    expect(commands).toEqual([['npm install nestjs-access-tokens'], ['npm install && npm start', 'npm test']]);
  });

  it('installs what every consumer app installs, and every peer the package requires', () => {
    // The install with the peers, not the package's one-line install above it.
    const install = found
      .get('README.md')!
      .find((block) => block.language === 'sh' && /^npm install nestjs-access-tokens \S/.test(block.lines[0]!));
    const named = install!.lines[0]!.split(/\s+/).slice(2);
    const manifest = JSON.parse(read('package.json')) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    const required = Object.keys(manifest.peerDependencies).filter(
      (peer) =>
        !manifest.peerDependenciesMeta[peer]?.optional &&
        !['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'].includes(peer),
    );
    expect(named.slice(1).sort()).toEqual(required.sort());
    expect(consumers).toHaveLength(3);
    for (const name of consumers) {
      expect({ name, missing: required.filter((peer) => !(peer in manifestOf(name).dependencies)) }).toEqual({
        name,
        missing: [],
      });
    }
  });

  it('is short: 300 lines at most, the rest in docs/', () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(300);
  });
});

/** The anchors of a Markdown file's headings, as GitHub makes them. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  // Lines in code blocks (a shell comment `# …`) are no headings.
  for (const [, heading] of withoutCode(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = githubSlug(heading!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** GitHub's slug of a heading: lower-case, punctuation other than `-` and `_` dropped, each space a `-`. */
const githubSlug = (heading: string): string =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-');

const withoutCode = (markdown: string): string => markdown.replace(/^```[\s\S]*?^```/gm, '');

describe('the links of the README, the guides, CHANGELOG.md and CONTRIBUTING.md', () => {
  const linking = [...documents, 'CHANGELOG.md', 'CONTRIBUTING.md'].filter((path) => existsSync(join(root, path)));

  it('include the headings GitHub makes anchors of', () => {
    expect(githubSlug('The first token from a password: `@AllowPassword()`')).toBe(
      'the-first-token-from-a-password-allowpassword',
    );
    expect(githubSlug('Beside other authentication (passport-jwt)')).toBe('beside-other-authentication-passport-jwt');
    expect([...anchorsOf('# A\n\n```sh\n# not a heading\n```\n\n## A\n')]).toEqual(['a', 'a-1']);
  });

  it.each(linking)('lead from %s to files and headings that exist', (document) => {
    const broken: string[] = [];
    for (const [, target] of withoutCode(read(document)).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z+.-]*:/i.test(target!)) continue; // https:, mailto: — not this repository's files
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const file = path === '' ? document : join(dirname(document), decodeURIComponent(path));
      if (!existsSync(join(root, file))) broken.push(`${target}: no file ${file}`);
      else if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(read(file)).has(anchor))
        broken.push(`${target}: no heading #${anchor} in ${file}`);
    }
    expect({ document, broken }).toEqual({ document, broken: [] });
  });
});
