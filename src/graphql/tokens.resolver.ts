import { Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import {
  CurrentToken,
  CurrentUser,
  errors,
  Scopes,
  TokensService,
  type TokenMetadata,
  type TokenUsagePolicy,
  type VerifiedAccessToken,
} from 'nestjs-access-tokens';
import { createdToken } from '../tokens/created-token.js';
import { User } from '../users/user.entity.js';
import { AccessTokenModel, CreatedTokenModel } from './access-token.model.js';
import { UpdateTokenArgs } from './token-policy.args.js';
import { CreateTokenArgs, RevokeTokenArgs, TokensArgs } from './tokens.args.js';
import { ValidArgs } from './valid-args.decorator.js';

/**
 * The usage policy the arguments give, as `issue()` and `update()` take it: an argument left out
 * is `undefined` (the module's default on a new token, unchanged on an update), `null` says none.
 */
function policyOf(args: CreateTokenArgs | UpdateTokenArgs): TokenUsagePolicy {
  const { rateLimit, maxUses, usesPeriod, allowedIps } = args;
  return {
    // A plain object, not the validated input's class instance.
    rateLimit: rateLimit && { limit: rateLimit.limit, window: rateLimit.window },
    maxUses,
    usesPeriod,
    allowedIps,
  };
}

/** `metadataJson` as `issue()` and `update()` take metadata: left out, `null` (none), or the object its text is. */
function metadataOf(args: CreateTokenArgs | UpdateTokenArgs): TokenMetadata | null | undefined {
  const text = args.metadataJson;
  if (text === undefined || text === null) return text;
  try {
    // The module checks what it is: an object, and its bounds.
    return JSON.parse(text) as TokenMetadata;
  } catch {
    throw new errors.InvalidMetadataError(
      'metadataJson must be the text of a JSON object, such as {"team": "billing"}',
    );
  }
}

/** The caller's tokens, each operation scoped as its route under `/tokens`. */
@Resolver(() => AccessTokenModel)
export class TokensResolver {
  constructor(private readonly tokens: TokensService) {}

  @Scopes('tokens:read')
  @Query(() => [AccessTokenModel], {
    name: 'tokens',
    description: "The first page of the caller's tokens, newest first, as GET /tokens",
  })
  async list(@CurrentUser() user: User, @ValidArgs() args: TokensArgs): Promise<AccessTokenModel[]> {
    return (await this.tokens.page(user.id, { limit: args.limit, status: args.status })).tokens;
  }

  /** As `POST /tokens`: a token can only create tokens within its own scopes. */
  @Scopes('tokens:write')
  @Mutation(() => CreatedTokenModel, {
    description: 'A new token within the scopes of the one that asks; the raw token is shown this once',
  })
  async createToken(
    @CurrentUser() user: User,
    @CurrentToken() current: VerifiedAccessToken,
    @ValidArgs() args: CreateTokenArgs,
  ): Promise<CreatedTokenModel> {
    const issued = await this.tokens.issue(
      user.id,
      {
        ...policyOf(args),
        name: args.name,
        scopes: args.scopes,
        expiresIn: args.expiresIn,
        canary: args.canary,
        metadata: metadataOf(args),
      },
      { within: current.accessToken.scopes },
    );
    return { ...createdToken(issued), accessToken: issued.accessToken };
  }

  /**
   * As `PATCH /tokens/:id`: renames one of the caller's tokens, changes its usage policy, or pauses
   * (`enabled: false`) or resumes it. A policy that cannot be is a `BAD_REQUEST` naming the part,
   * and changes nothing.
   */
  @Scopes('tokens:write')
  @Mutation(() => AccessTokenModel, {
    description:
      "Renames, pauses or resumes one of the caller's tokens, or changes its usage policy, as PATCH /tokens/:id",
  })
  async updateToken(@CurrentUser() user: User, @ValidArgs() args: UpdateTokenArgs): Promise<AccessTokenModel> {
    return this.tokens.update(user.id, args.id, {
      ...policyOf(args),
      name: args.name,
      enabled: args.enabled,
      metadata: metadataOf(args),
    });
  }

  @ResolveField(() => String, {
    nullable: true,
    description: "The token's metadata, as the text of a JSON object; null for none",
  })
  metadataJson(@Parent() token: AccessTokenModel): string | null {
    return token.metadata === null ? null : JSON.stringify(token.metadata);
  }

  @Scopes('tokens:write')
  @Mutation(() => Boolean, { description: "Revokes one of the caller's tokens, as DELETE /tokens/:id" })
  async revokeToken(@CurrentUser() user: User, @ValidArgs() args: RevokeTokenArgs): Promise<boolean> {
    await this.tokens.revoke(user.id, args.id);
    return true;
  }
}
