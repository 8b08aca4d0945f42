/**
 * `nestjs-access-tokens/graphql`: what a GraphQL API with access tokens needs beside the guards,
 * with `graphql` (an optional peer, which only this entry loads).
 *
 * @example
 * GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true, validationRules: [queryCostLimit()] });
 */
export {
  QUERY_COST_DEFAULTS,
  QUERY_TOO_COSTLY,
  queryCostLimit,
  type QueryCostLimitName,
  type QueryCostLimits,
} from './query-cost.js';
export { GRAPHQL_ERROR_CODES } from '../core/graphql-codes.js';
