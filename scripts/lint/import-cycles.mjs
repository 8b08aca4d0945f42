// Lint step: no import cycles among the project's TypeScript files, type-only imports included
// (STYLE.md: a type both sides need goes down into a file both import). ESLint's cycle rules skip
// type imports; this reads every import and re-export with the TypeScript compiler, resolves
// relative ones as tsc does ('./x.js' is './x.ts'), and reports each cycle once, as a path.
//
//   node scripts/lint/import-cycles.mjs [folder ...]   (default: src test bench)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '../..');
const folders = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['src', 'test', 'bench'];

function* sources(folder) {
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    if (name === 'node_modules' || name === 'consumers' || name === 'dist') continue;
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) yield path;
  }
}

/** The project files `file` imports or re-exports, type-only ones included. */
function importsOf(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const targets = [];
  const visit = (node) => {
    const specifier =
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
        ? node.moduleSpecifier.text
        : ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)
          ? node.argument.literal.text
          : ts.isCallExpression(node) &&
              node.expression.kind === ts.SyntaxKind.ImportKeyword &&
              ts.isStringLiteral(node.arguments[0] ?? {})
            ? node.arguments[0].text
            : null;
    if (specifier?.startsWith('.')) {
      const target = join(dirname(file), specifier).replace(/\.js$/, '.ts');
      for (const candidate of [target, `${target}.ts`, join(target, 'index.ts')]) {
        if (existsSync(candidate) && statSync(candidate).isFile()) {
          targets.push(candidate);
          break;
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return targets;
}

const graph = new Map();
for (const folder of folders) for (const file of sources(resolve(root, folder))) graph.set(file, importsOf(file));

// Tarjan's strongly connected components: every component of more than one file holds a cycle.
let index = 0;
const indices = new Map();
const lowlinks = new Map();
const stack = [];
const onStack = new Set();
const components = [];
function connect(file) {
  indices.set(file, index);
  lowlinks.set(file, index);
  index += 1;
  stack.push(file);
  onStack.add(file);
  for (const next of graph.get(file) ?? []) {
    if (!graph.has(next)) continue;
    if (!indices.has(next)) {
      connect(next);
      lowlinks.set(file, Math.min(lowlinks.get(file), lowlinks.get(next)));
    } else if (onStack.has(next)) lowlinks.set(file, Math.min(lowlinks.get(file), indices.get(next)));
  }
  if (lowlinks.get(file) === indices.get(file)) {
    const component = [];
    let member;
    do {
      member = stack.pop();
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || (graph.get(file) ?? []).includes(file)) components.push(component);
  }
}
for (const file of graph.keys()) if (!indices.has(file)) connect(file);

/** One cycle through `component`, from its first file back to it, by breadth-first search. */
function cycleIn(component) {
  const members = new Set(component);
  const start = [...component].sort()[0];
  const previous = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift();
    for (const next of graph.get(file) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [file];
        for (let at = previous.get(file); at !== null; at = previous.get(at)) path.unshift(at);
        return [...path, start];
      }
      if (!previous.has(next)) {
        previous.set(next, file);
        queue.push(next);
      }
    }
  }
  return [start, start];
}

if (components.length > 0) {
  for (const component of components) {
    console.error(
      `import cycle (${component.length} files): ${cycleIn(component)
        .map((file) => relative(root, file))
        .join(' → ')}`,
    );
  }
  console.error('Move what both sides need into a file both import.');
  process.exit(1);
}
console.log(`import cycles: none in ${graph.size} files`);
