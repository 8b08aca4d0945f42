/**
 * `nestjs-access-tokens/routes`: what the ready-made routes (`forRoot({ routes })`) take and answer,
 * for an app that writes routes or resolvers of its own with the same rules: their bodies and query
 * as class-validator DTOs (`class-validator` and `class-transformer` are optional peers, which only
 * this entry and the routes load), and the shapes of their answers.
 *
 * @example
 * // A GraphQL mutation with the rules of POST /tokens
 * @ArgsType()
 * class CreateTokenArgs extends CreateTokenDto {}
 */
export {
  CreateTokenDto,
  GenerateTokenDto,
  ListTokensQueryDto,
  RateLimitDto,
  RevokeTokenDto,
  RotateTokenDto,
  TokenPolicyDto,
  UpdateTokenDto,
} from './access-tokens-routes.dto.js';
export type { AccessTokensRoutesOptions } from './access-tokens-routes.options.js';
export type { CreatedToken, GeneratedToken } from './token-routes.controller.js';
export type { TokenPair } from './session-routes.controller.js';
