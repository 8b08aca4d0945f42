import type { INestApplicationContext } from '@nestjs/common';
import type { DocumentBuilder } from '@nestjs/swagger';
import type {
  CredentialOptions,
  ResolvedAccessTokensOptions,
  ResolvedCredentialOptions,
  ResolvedTokenOptions,
  TokenOptions,
} from '../access-tokens-options.interface.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { InvalidOptionsError } from '../core/access-tokens.errors.js';
import { ACCESS_TOKENS_DEFAULTS } from '../options/defaults.js';
import { generateToken } from '../core/token-format.js';
import { ACCESS_TOKEN_SECURITY_SCHEMES } from './openapi.constants.js';

/**
 * What the security schemes say of the module, when there is no app to read it from: the module's
 * own options, as given to `forRoot()` (the object itself fits), of which these are read.
 */
export interface AccessTokensSecurityOptions {
  /** The module's `tokens.prefix`. Default `'nat'`. */
  tokens?: Pick<TokenOptions, 'prefix'>;
  /**
   * The module's `credentials.queryParameter` (a query parameter scheme is added unless it is
   * `false`, the default) and `credentials.realm`, which the documented `WWW-Authenticate`
   * challenges show (default `'api'`).
   */
  credentials?: Pick<CredentialOptions, 'queryParameter' | 'realm'>;
}

/**
 * The options the documentation needs, defaults applied, as the module resolves them:
 * `tokens.prefix`, `credentials.queryParameter` and `credentials.realm`.
 */
export type DocumentedOptions = Pick<ResolvedTokenOptions, 'prefix'> &
  Pick<ResolvedCredentialOptions, 'queryParameter' | 'realm'>;

function isApp(source: INestApplicationContext | AccessTokensSecurityOptions): source is INestApplicationContext {
  return typeof (source as { get?: unknown }).get === 'function';
}

/**
 * The module's options as the app resolved them, or as given. Throws `InvalidOptionsError` for an
 * app without `AccessTokensModule`, whose routes the documentation could not describe anyway.
 */
export function documentedOptions(source: INestApplicationContext | AccessTokensSecurityOptions): DocumentedOptions {
  if (isApp(source)) {
    let resolved: ResolvedAccessTokensOptions;
    try {
      resolved = source.get<typeof RESOLVED_OPTIONS, ResolvedAccessTokensOptions>(RESOLVED_OPTIONS, { strict: false });
    } catch (error) {
      throw new InvalidOptionsError(
        'The app has no AccessTokensModule to document: import AccessTokensModule.forRoot() in it, or pass the options ({ tokens: { prefix }, credentials: { queryParameter, realm } }) instead of the app',
        { cause: error },
      );
    }
    const { queryParameter, realm } = resolved.credentials;
    return { prefix: resolved.tokens.prefix, queryParameter, realm };
  }
  const defaults = ACCESS_TOKENS_DEFAULTS;
  return {
    prefix: source.tokens?.prefix ?? defaults.tokens.prefix,
    queryParameter: source.credentials?.queryParameter ?? defaults.credentials.queryParameter,
    realm: source.credentials?.realm ?? defaults.credentials.realm,
  };
}

/** How many base62 characters follow a token's prefix: measured on a token signed with a throwaway key. */
function bodyLength(prefix: string): number {
  const throwaway = { id: '0000', tokenMac: Buffer.alloc(32), fingerprint: Buffer.alloc(32) };
  return generateToken(prefix, throwaway, null).length - prefix.length - 1;
}

/**
 * Adds the module's security schemes to an OpenAPI `DocumentBuilder`: a Bearer token (its format
 * described), HTTP Basic with the token as the user name and an empty password, and the token in
 * the query parameter when the module allows it. `createAccessTokensDocument` then puts them on
 * the routes that need a token, with the scopes each requires.
 *
 * @param source the app, whose `AccessTokensModule` options are read (prefix, query parameter,
 *   realm); or those options, to describe the schemes without an app.
 * @returns the builder, to chain.
 * @example
 * const config = addAccessTokensSecurity(new DocumentBuilder().setTitle('My API'), app).build();
 */
export function addAccessTokensSecurity(
  builder: DocumentBuilder,
  source: INestApplicationContext | AccessTokensSecurityOptions,
): DocumentBuilder {
  const { prefix, queryParameter } = documentedOptions(source);
  const characters = bodyLength(prefix);
  builder.addBearerAuth(
    {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: `${prefix}_…`,
      description:
        `An access token, as \`Authorization: Bearer <token>\`. A personal token reads \`${prefix}_\` and ${characters} base62 ` +
        `characters (a key id, the signed expiry, 32 random bytes, a MAC and a CRC32 checksum); a login session's access ` +
        `token, \`${prefix}_s_\` and as many. A route's scopes are granted by a token holding them, or a wildcard ` +
        'that covers them: `users:*` covers every scope under `users:`, `*` every scope.',
    },
    ACCESS_TOKEN_SECURITY_SCHEMES.bearer,
  );
  builder.addBasicAuth(
    {
      type: 'http',
      scheme: 'basic',
      description:
        'The same access token as the HTTP Basic user name, with an empty password, for clients that only speak Basic: ' +
        '`curl http://TOKEN:@host/…`. Routes that say so also take a user name and password.',
    },
    ACCESS_TOKEN_SECURITY_SCHEMES.basic,
  );
  if (queryParameter !== false) {
    builder.addApiKey(
      {
        type: 'apiKey',
        in: 'query',
        name: queryParameter,
        description:
          `The same access token in the \`${queryParameter}\` query parameter (RFC 6750 §2.3), for clients that cannot set ` +
          'headers. URLs end up in logs and browser history: prefer the header.',
      },
      ACCESS_TOKEN_SECURITY_SCHEMES.query,
    );
  }
  return builder;
}
