// An ESLint rule of this repository: no class imported as a type in a signature that TypeScript
// records for decorators (`emitDecoratorMetadata`).
//
// `tsc` records such a class as `Function` in `design:paramtypes` (ts-jest's per-file transpile
// records `Object`), so what users run differs from what a transpiling test runner sees: an app's
// global `ValidationPipe({ whitelist: true })` turned the ready-made routes' bodies into `{}`, and
// Swagger described them as a schema named Function. Import the class as a value, or type the
// parameter with a type that is not a class (for a body left to its own pipe, `Validated<Dto>`).
import ts from 'typescript';

/** The type references of an annotation whose class `tsc` would record: itself, or a union's members. */
function recordedReferences(type) {
  if (!type) return [];
  if (type.type === 'TSTypeReference' && type.typeName.type === 'Identifier') return [type];
  // `A | undefined` and `A | null` are recorded as A under strict null checks.
  if (type.type === 'TSUnionType') return type.types.flatMap(recordedReferences);
  return [];
}

/** The import that binds `name` where `node` stands, if it is type-only. */
function typeOnlyImport(sourceCode, node, name) {
  for (let scope = sourceCode.getScope(node); scope; scope = scope.upper) {
    const variable = scope.set.get(name);
    if (!variable) continue;
    const definition = variable.defs.find((def) => def.type === 'ImportBinding');
    if (!definition) return undefined;
    const typeOnly = definition.parent.importKind === 'type' || definition.node.importKind === 'type';
    return typeOnly ? definition.node : undefined;
  }
  return undefined;
}

/** @type {import('eslint').Rule.RuleModule} */
const noTypeOnlyClassInDecoratedSignature = {
  meta: {
    type: 'problem',
    docs: { description: 'Refuses a class imported as a type in a signature recorded by emitDecoratorMetadata.' },
    messages: {
      typeOnlyClass:
        "'{{name}}' is a class imported as a type: tsc records it as Function in design:{{what}}, which pipes and Swagger then read as the class Function. Import it as a value, or type this with a type that is not a class.",
    },
    schema: [],
  },
  create(context) {
    const { sourceCode } = context;
    const services = sourceCode.parserServices;
    const checker = services?.program?.getTypeChecker();

    function isClass(importNode) {
      // Without type information every type-only import is suspect; with it, only classes.
      if (!checker) return true;
      const tsNode = services.esTreeNodeToTSNodeMap.get(importNode);
      let symbol = checker.getSymbolAtLocation(tsNode.name ?? tsNode);
      if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      return Boolean(symbol && symbol.flags & ts.SymbolFlags.Class);
    }

    function check(annotation, what) {
      for (const reference of recordedReferences(annotation?.typeAnnotation)) {
        const name = reference.typeName.name;
        const importNode = typeOnlyImport(sourceCode, reference, name);
        if (importNode && isClass(importNode))
          context.report({ node: reference, messageId: 'typeOnlyClass', data: { name, what } });
      }
    }

    const parameterOf = (param) => (param.type === 'TSParameterProperty' ? param.parameter : param);
    const decorated = (node) => (node.decorators?.length ?? 0) > 0;

    function checkClass(node) {
      for (const member of node.body.body) {
        if (member.type === 'PropertyDefinition' && decorated(member)) check(member.typeAnnotation, 'type');
        if (member.type !== 'MethodDefinition') continue;
        const params = member.value.params;
        const recorded =
          member.kind === 'constructor'
            ? decorated(node) || params.some((param) => decorated(param))
            : decorated(member) || params.some((param) => decorated(param));
        if (!recorded) continue;
        for (const param of params) check(parameterOf(param).typeAnnotation, 'paramtypes');
        if (member.kind !== 'constructor' && decorated(member)) check(member.value.returnType, 'returntype');
      }
    }

    return { ClassDeclaration: checkClass, ClassExpression: checkClass };
  },
};

export default { rules: { 'no-type-only-class-in-decorated-signature': noTypeOnlyClassInDecoratedSignature } };
