import { describe, expect, it } from '@jest/globals';
import { buildSchema, parse, specifiedRules, validate, type GraphQLError } from 'graphql';
import { InvalidOptionsError } from '../core/access-tokens.errors.js';
import { QUERY_COST_DEFAULTS, queryCostLimit, type QueryCostLimits } from './query-cost.js';

const schema = buildSchema(`
  type Token { id: ID! name: String! owner: User! }
  type User { id: ID! name: String! tokens(limit: Int): [Token!]! friends(first: Int): [User!]! best: User }
  interface Named { name: String! }
  type Query { me: User! tokens(limit: Int): [Token!]! users: [User!]! hello: String }
  type Mutation { rename(name: String!): User! }
`);

/** What the rule (beside graphql's own rules) says of `query`. */
function refusals(query: string, limits?: QueryCostLimits): readonly GraphQLError[] {
  return validate(schema, parse(query), [...specifiedRules, queryCostLimit(limits)]);
}
const limitsPassed = (query: string, limits?: QueryCostLimits) =>
  refusals(query, limits).map((error) => error.extensions.limit);

describe('queryCostLimit', () => {
  it('lets an ordinary query through', () => {
    expect(refusals('{ me { id name tokens(limit: 20) { id name } } }')).toEqual([]);
    expect(refusals('query Q { tokens(limit: 100) { id name owner { name } } }')).toEqual([]);
  });

  it('refuses the flood seen from outside: 592 aliases of tokens(limit: 100), with one error naming the limit', () => {
    const query = `{ ${Array.from({ length: 592 }, (_, index) => `a${index}: tokens(limit: 100) { id name }`).join(' ')} }`;
    const errors = refusals(query);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toBe(
      'The operation may cost more than 5000 (each field counted once for every item of the lists above it): ask for less in one request',
    );
    expect(errors[0]!.extensions).toEqual({
      code: 'QUERY_TOO_COSTLY',
      reason: 'query_too_costly',
      limit: 'maxCost',
      max: 5000,
    });
    // Cheap aliases are counted too.
    expect(limitsPassed(`{ ${Array.from({ length: 51 }, (_, index) => `a${index}: hello`).join(' ')} }`)).toEqual([
      'maxAliases',
    ]);
  });

  it('counts each field once for every item of the lists above it', () => {
    // tokens 1, + 100 × (id, name, owner, friends), + 100 × 10 × id: 1,401
    const query = '{ tokens(limit: 100) { id name owner { friends(first: 10) { id } } } }';
    expect(limitsPassed(query, { maxCost: 1_401 })).toEqual([]);
    expect(limitsPassed(query, { maxCost: 1_400 })).toEqual(['maxCost']);
  });

  it('counts a list without a size argument, or sized by a variable, at defaultListSize', () => {
    expect(limitsPassed('{ users { id } }', { maxCost: 100, defaultListSize: 100 })).toEqual(['maxCost']);
    expect(limitsPassed('query ($n: Int) { tokens(limit: $n) { id } }', { maxCost: 50, defaultListSize: 40 })).toEqual(
      [],
    );
    expect(limitsPassed('query ($n: Int) { tokens(limit: $n) { id } }', { maxCost: 40, defaultListSize: 40 })).toEqual([
      'maxCost',
    ]);
  });

  it('refuses nesting deeper than maxDepth, through fragments too', () => {
    expect(limitsPassed('{ me { best { best { id } } } }', { maxDepth: 4 })).toEqual([]);
    expect(limitsPassed('{ me { best { best { best { id } } } } }', { maxDepth: 4 })).toEqual(['maxDepth']);
    expect(
      limitsPassed('{ me { ...deep } } fragment deep on User { best { best { best { id } } } }', { maxDepth: 4 }),
    ).toEqual(['maxDepth']);
  });

  it('counts a fragment each time it is spread, and stops counting at the first limit passed', () => {
    const bomb = [
      '{ me { ...f0 } }',
      ...Array.from(
        { length: 30 },
        (_, level) => `fragment f${level} on User { best { ...f${level + 1} } friends(first: 1) { ...f${level + 1} } }`,
      ),
      'fragment f30 on User { id }',
    ].join('\n');
    // 2^30 fields if expanded: refused after maxFields steps.
    expect(limitsPassed(bomb)).toEqual(['maxDepth']);
    expect(limitsPassed(bomb, { maxDepth: 100 })).toEqual(['maxFields']);
  });

  it('checks each operation of a document, mutations included, naming it', () => {
    const errors = refusals(
      'mutation Rename { a: rename(name: "x") { id } b: rename(name: "y") { id } } query Fine { me { id } }',
      { maxAliases: 1 },
    );
    expect(errors.map((error) => error.message)).toEqual([
      'Operation "Rename" uses more than 1 aliases: ask for less in one request',
    ]);
  });

  it("leaves a cycle of fragments to graphql's own rule", () => {
    const errors = refusals(
      '{ me { ...a } } fragment a on User { best { ...b } } fragment b on User { best { ...a } }',
    );
    expect(errors.map((error) => error.message)).toEqual(['Cannot spread fragment "a" within itself via "b".']);
  });

  it.each([
    [{ maxDepth: 0 }, 'maxDepth'],
    [{ maxCost: 1.5 }, 'maxCost'],
    [{ maxFields: Number.NaN }, 'maxFields'],
    [{ defaultListSize: -1 }, 'defaultListSize'],
  ] as const)('refuses %j at start-up, naming the option', (limits, name) => {
    expect(() => queryCostLimit(limits)).toThrow(InvalidOptionsError);
    expect(() => queryCostLimit(limits)).toThrow(new RegExp(`${name} must be a whole number of 1 or more`));
  });

  it('keeps its defaults frozen', () => {
    expect(Object.isFrozen(QUERY_COST_DEFAULTS)).toBe(true);
  });
});
