import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  type ASTNode,
  type ASTVisitor,
  type GraphQLNamedType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from 'graphql';
import { InvalidOptionsError } from '../core/access-tokens.errors.js';

/** The limits of {@link queryCostLimit}; each one's default is in {@link QUERY_COST_DEFAULTS}. */
export interface QueryCostLimits {
  /** How deeply selections may nest, fragments followed (`{ a { b } }` is 2). */
  maxDepth?: number;
  /** How many fields an operation may select in all, each fragment counted where it is spread, aliases included. */
  maxFields?: number;
  /** How many of those fields may carry an alias (the usual way to ask for one list many times). */
  maxAliases?: number;
  /**
   * The most an operation may cost: every field costs one for each item of every list above it,
   * so that it bounds the rows and objects an answer can hold (`tokens(limit: 100) { id name }`
   * costs 1 + 2 × 100).
   */
  maxCost?: number;
  /** Arguments that give a list field's size, the first found counted. */
  listSizeArguments?: readonly string[];
  /** The size counted for a list field without such an argument, or with it as a variable. */
  defaultListSize?: number;
}

/** The limits {@link queryCostLimit} applies where none is given: generous for a client, tight for a flood. */
export const QUERY_COST_DEFAULTS: Readonly<Required<QueryCostLimits>> = Object.freeze({
  maxDepth: 10,
  maxFields: 500,
  maxAliases: 50,
  maxCost: 5_000,
  listSizeArguments: Object.freeze(['limit', 'first', 'last', 'take', 'pageSize']),
  defaultListSize: 100,
});

/**
 * The `extensions.code` of the error that refuses a document over a limit. Apollo answers every
 * validation error with its own code (`GRAPHQL_VALIDATION_FAILED`); `extensions.reason`, this in
 * lower case as the module's other refusals have it, reads the same on every server.
 */
export const QUERY_TOO_COSTLY = 'QUERY_TOO_COSTLY';

/** Which limit a document went over, as its error's `extensions.limit` says. */
export type QueryCostLimitName = 'maxDepth' | 'maxFields' | 'maxAliases' | 'maxCost';

/**
 * A GraphQL validation rule that refuses an operation over a depth, a field or alias count, or a
 * list cost, before anything executes: Apollo and Mercurius run validation rules before any
 * resolver, so a refused document costs no query. The answer is one GraphQL error naming the
 * limit, with `extensions: { code: 'QUERY_TOO_COSTLY', reason: 'query_too_costly', limit, max }`.
 *
 * The walk stops at the first limit passed, so a hostile document (thousands of aliases, a
 * fragment spread many times over) costs at most `maxFields` steps to refuse.
 *
 * @example
 * GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, validationRules: [queryCostLimit()] });
 * GraphQLModule.forRoot<MercuriusDriverConfig>({ driver: MercuriusDriver, autoSchemaFile: true, validationRules: [queryCostLimit({ maxCost: 2_000 })] });
 */
export function queryCostLimit(limits: QueryCostLimits = {}): ValidationRule {
  const resolved = resolveLimits(limits);
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation: OperationDefinitionNode) {
      const root = context.getSchema().getRootType(operation.operation);
      if (!root) return;
      const over = new CostWalk(context, resolved).over(operation.selectionSet, root);
      if (over) context.reportError(refusal(over, resolved, operation));
    },
  });
}

function resolveLimits(limits: QueryCostLimits): Required<QueryCostLimits> {
  const resolved = { ...QUERY_COST_DEFAULTS, ...definedOnly(limits) };
  for (const name of ['maxDepth', 'maxFields', 'maxAliases', 'maxCost', 'defaultListSize'] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new InvalidOptionsError(
        `queryCostLimit(): ${name} must be a whole number of 1 or more, got ${String(value)}`,
      );
    }
  }
  if (
    !Array.isArray(resolved.listSizeArguments) ||
    !resolved.listSizeArguments.every((name) => typeof name === 'string')
  ) {
    throw new InvalidOptionsError('queryCostLimit(): listSizeArguments must be an array of argument names');
  }
  return resolved;
}

function definedOnly(limits: QueryCostLimits): QueryCostLimits {
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined)) as QueryCostLimits;
}

const MESSAGES: Record<QueryCostLimitName, string> = {
  maxDepth: 'nests selections more than {max} deep',
  maxFields: 'selects more than {max} fields',
  maxAliases: 'uses more than {max} aliases',
  maxCost: 'may cost more than {max} (each field counted once for every item of the lists above it)',
};

function refusal(
  limit: QueryCostLimitName,
  limits: Required<QueryCostLimits>,
  operation: OperationDefinitionNode,
): GraphQLError {
  const max = limits[limit];
  const name = operation.name ? `Operation "${operation.name.value}"` : 'The operation';
  return new GraphQLError(`${name} ${MESSAGES[limit].replace('{max}', String(max))}: ask for less in one request`, {
    nodes: [operation as ASTNode],
    extensions: { code: QUERY_TOO_COSTLY, reason: 'query_too_costly', limit, max },
  });
}

/** One operation's walk: counts as it goes, and stops at the first limit passed. */
class CostWalk {
  private fields = 0;
  private aliases = 0;
  private cost = 0;
  /** The fragments being walked, so that a cycle (refused by another rule) does not loop here. */
  private readonly spreading = new Set<string>();

  constructor(
    private readonly context: ValidationContext,
    private readonly limits: Required<QueryCostLimits>,
  ) {}

  /** The first limit `selectionSet` passes, or `undefined`. */
  over(
    selectionSet: SelectionSetNode,
    type: GraphQLNamedType,
    depth = 1,
    multiplier = 1,
  ): QueryCostLimitName | undefined {
    if (depth > this.limits.maxDepth) return 'maxDepth';
    for (const selection of selectionSet.selections) {
      let over: QueryCostLimitName | undefined;
      if (selection.kind === Kind.FIELD) {
        if (++this.fields > this.limits.maxFields) return 'maxFields';
        if (selection.alias && ++this.aliases > this.limits.maxAliases) return 'maxAliases';
        this.cost += multiplier;
        if (this.cost > this.limits.maxCost) return 'maxCost';
        const field = isObjectType(type) || isInterfaceType(type) ? type.getFields()[selection.name.value] : undefined;
        if (field && selection.selectionSet) {
          const size = isListType(getNullableType(field.type)) ? this.listSize(selection.arguments ?? []) : 1;
          over = this.over(selection.selectionSet, getNamedType(field.type), depth + 1, multiplier * size);
        }
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition
          ? this.context.getSchema().getType(selection.typeCondition.name.value)
          : type;
        over = this.over(selection.selectionSet, condition ?? type, depth, multiplier);
      } else {
        const name = selection.name.value;
        const fragment = this.context.getFragment(name);
        if (!fragment || this.spreading.has(name)) continue;
        this.spreading.add(name);
        over = this.over(
          fragment.selectionSet,
          this.context.getSchema().getType(fragment.typeCondition.name.value) ?? type,
          depth,
          multiplier,
        );
        this.spreading.delete(name);
      }
      if (over) return over;
    }
    return undefined;
  }

  private listSize(args: readonly { name: { value: string }; value: ValueNode }[]): number {
    for (const name of this.limits.listSizeArguments) {
      const value = args.find((arg) => arg.name.value === name)?.value;
      if (value?.kind === Kind.INT) return Math.max(1, Number(value.value));
      if (value) break;
    }
    return this.limits.defaultListSize;
  }
}
