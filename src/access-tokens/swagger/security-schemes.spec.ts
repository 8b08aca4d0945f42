import { describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { DocumentBuilder } from '@nestjs/swagger';
import { InvalidOptionsError } from '../core/access-tokens.errors.js';
import { deriveKeys } from '../core/keys.js';
import { generateToken } from '../core/token-format.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { addAccessTokensSecurity } from './security-schemes.js';

const schemesOf = (builder: DocumentBuilder) => builder.build().components?.securitySchemes ?? {};

/** An app whose module resolved these options, as far as `get(RESOLVED_OPTIONS)` goes. */
const appWith = (options: object): INestApplicationContext =>
  ({
    get: (token: unknown) => (token === RESOLVED_OPTIONS ? options : undefined),
  }) as unknown as INestApplicationContext;

describe('addAccessTokensSecurity', () => {
  it('adds Bearer and HTTP Basic, and no query parameter unless the module allows it', () => {
    const schemes = schemesOf(addAccessTokensSecurity(new DocumentBuilder(), {}));
    expect(Object.keys(schemes).sort()).toEqual(['accessToken', 'accessTokenBasic']);
    expect(schemes.accessToken).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'nat_…' });
    expect(schemes.accessTokenBasic).toMatchObject({ type: 'http', scheme: 'basic' });
    expect((schemes.accessTokenBasic as { description: string }).description).toContain('`curl http://TOKEN:@host/…`');
  });

  it('adds the query parameter by the name the module reads it under', () => {
    const schemes = schemesOf(
      addAccessTokensSecurity(new DocumentBuilder(), { credentials: { queryParameter: 'jwt' } }),
    );
    expect(schemes.accessTokenQuery).toMatchObject({ type: 'apiKey', in: 'query', name: 'jwt' });
    expect((schemes.accessTokenQuery as { description: string }).description).toMatch(
      /`jwt` query parameter.*prefer the header/,
    );
  });

  it("describes the token format by the prefix, with the length of a real token's body", () => {
    const description = (
      schemesOf(addAccessTokensSecurity(new DocumentBuilder(), { tokens: { prefix: 'acme_pat' } })).accessToken as {
        description: string;
      }
    ).description;
    const token = generateToken('acme_pat', deriveKeys('unit-test-key-material-0123456789'), Date.now() + 60_000);
    const length = token.length - 'acme_pat_'.length;
    expect(description).toContain(`\`acme_pat_\` and ${length} base62 characters`);
    expect(description).toContain('`acme_pat_s_`');
  });

  it("reads the options of the app's module", () => {
    const app = appWith({
      tokens: { prefix: 'fx' },
      credentials: { queryParameter: 'access_token', foreign: 'refuse', realm: 'fixture' },
    });
    const schemes = schemesOf(addAccessTokensSecurity(new DocumentBuilder().setTitle('API'), app));
    expect(schemes.accessToken).toMatchObject({ bearerFormat: 'fx_…' });
    expect(schemes.accessTokenQuery).toMatchObject({ name: 'access_token' });
  });

  it('keeps what the builder had, and returns it to chain', () => {
    const builder = new DocumentBuilder().setTitle('API').addBearerAuth(undefined, 'jwt');
    expect(addAccessTokensSecurity(builder, {})).toBe(builder);
    const document = builder.build();
    expect(document.info.title).toBe('API');
    expect(Object.keys(document.components?.securitySchemes ?? {}).sort()).toEqual([
      'accessToken',
      'accessTokenBasic',
      'jwt',
    ]);
  });

  it('stops with what to do for an app without the module', () => {
    const app = {
      get: () => {
        throw new Error('Nest could not find RESOLVED_OPTIONS element');
      },
    } as unknown as INestApplicationContext;
    expect(() => addAccessTokensSecurity(new DocumentBuilder(), app)).toThrow(InvalidOptionsError);
    expect(() => addAccessTokensSecurity(new DocumentBuilder(), app)).toThrow(/import AccessTokensModule\.forRoot\(\)/);
  });
});
