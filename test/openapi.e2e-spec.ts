import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  Get,
  Injectable,
  Module,
  RequestMethod,
  UseGuards,
  type INestApplication,
  type Type,
} from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { APP_GUARD, ModulesContainer } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DECORATORS } from '@nestjs/swagger';
import type {
  OpenAPIObject,
  OperationObject,
  ReferenceObject,
  ResponseObject,
  SchemaObject,
  SecurityRequirementObject,
} from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { addAccessTokensSecurity, createAccessTokensDocument } from 'nestjs-access-tokens/swagger';
import { SCOPES_METADATA } from '#internal';
import {
  AccessToken,
  AccessTokenGuard,
  AccessTokensModule,
  type AuthenticatableRequest,
  errors,
  Public,
  type ScopeRequirement,
  TeamTokensService,
  TokensService,
} from 'nestjs-access-tokens';
import { permissionsOf, type User } from '../src/users/user.entity.js';
import { createTestDatabase, type TestDatabase } from './fixtures/database.js';
import { startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { FIXTURE_OPTIONS, FixtureAppModule, Member } from './fixtures/fixture-app.module.js';
import { createAppOn, HTTP_ADAPTERS } from './fixtures/http-adapters.js';

/**
 * The OpenAPI document of `nestjs-access-tokens/swagger`, read as a client would read it (`/docs-json`)
 * and held against what the server does: every route it serves is in it, each says whether it needs
 * a token (and a request without one is refused exactly when it says so), with the scopes its
 * handler requires (and a token without them gets the 403 it documents), and the refusals it
 * documents are the bodies and challenges the module sends.
 */

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface Operation {
  method: (typeof HTTP_METHODS)[number];
  path: string;
  operation: OperationObject;
}

function operationsOf(document: OpenAPIObject): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => (item[method] ? [{ method, path, operation: item[method] }] : [])),
  );
}

const key = (method: string, path: string): string => `${method.toUpperCase()} ${path}`;

/** What the server routes, `:param` written `{param}` as OpenAPI does; HEAD, which Fastify adds to every GET, left out. */
function servedRoutes(app: INestApplication): string[] {
  const adapter = app.getHttpAdapter();
  const routes: string[] = [];
  if (adapter.getType() === 'express') {
    const stack = (
      adapter.getInstance() as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }
    ).router.stack;
    for (const { route } of stack) {
      if (route) for (const method of Object.keys(route.methods)) routes.push(key(method, route.path));
    }
  } else {
    // Fastify lists its routes as a tree: each line a path segment, indented by depth, and its methods.
    const tree = (adapter.getInstance() as { printRoutes(options: { commonPrefix: boolean }): string }).printRoutes({
      commonPrefix: false,
    });
    const prefixes: string[] = [];
    for (const line of tree.split('\n')) {
      const match = /^([│ ]*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
      if (!match) continue;
      const depth = match[1]!.length / 4;
      prefixes.length = depth;
      const path = `${prefixes.join('')}${match[2]!}`;
      prefixes.push(match[2]!);
      for (const method of match[3]?.split(', ') ?? []) routes.push(key(method, path));
    }
  }
  return routes
    .filter((route) => !route.startsWith('HEAD '))
    .map((route) => route.replace(/:([A-Za-z0-9_]+)/g, '{$1}'))
    .sort();
}

/**
 * Served, but not by the app's controllers: Swagger UI and its files, and the GraphQL endpoint
 * (Mercurius routes it on Fastify; Apollo mounts middleware on Express).
 */
const NOT_CONTROLLER_ROUTES = /^[A-Z]+ \/(docs|graphql)(\/|-|$)/;

/**
 * The routes the app hides from the document itself, with `@ApiExcludeEndpoint()` or
 * `@ApiExcludeController()` (the demo's settings page and its files), read from the controllers'
 * metadata. The demo has no global prefix nor versions: a route's path is its controller's and its own.
 */
function excludedRoutes(app: INestApplication): string[] {
  const routes: string[] = [];
  for (const moduleRef of app.get(ModulesContainer).values()) {
    for (const { metatype } of moduleRef.controllers.values()) {
      if (typeof metatype !== 'function') continue;
      const hidden = Reflect.getMetadata(DECORATORS.API_EXCLUDE_CONTROLLER, metatype) as [boolean] | undefined;
      for (const handler of Object.values(Object.getOwnPropertyDescriptors(metatype.prototype as object)).map(
        (descriptor) => descriptor.value as unknown,
      )) {
        if (typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const excluded = Reflect.getMetadata(DECORATORS.API_EXCLUDE_ENDPOINT, handler) as
          { disable?: boolean } | undefined;
        if (!hidden?.[0] && !excluded?.disable) continue;
        const path = `/${[Reflect.getMetadata(PATH_METADATA, metatype) as string, Reflect.getMetadata(PATH_METADATA, handler) as string].join('/')}`;
        routes.push(
          key(
            RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod],
            path.replace(/\/+/g, '/').replace(/(.)\/$/, '$1'),
          ),
        );
      }
    }
  }
  return routes.sort();
}

/** The `Authorization`-free request each operation gets, with a path whose parameters are filled. */
function call(http: ReturnType<typeof request>, { method, path }: Operation): request.Test {
  const url = path.replace(/\{[^}]+\}/g, '1');
  const test = http[method](url);
  return ['post', 'put', 'patch'].includes(method) ? test.send({}) : test;
}

/** The scope lists of one scheme's requirements, sorted, each list sorted. */
function scopesOf(security: SecurityRequirementObject[] | undefined, scheme: string): string[][] {
  return (security ?? [])
    .filter((requirement) => scheme in requirement)
    .map((requirement) => [...requirement[scheme]!].sort())
    .sort((a, b) => a.join(' ').localeCompare(b.join(' ')));
}

/** The ways to satisfy every one of `requirements`, as scope lists: `@Scopes()` read as `ScopesGuard` reads it. */
function alternatives(requirements: readonly ScopeRequirement[]): string[][] {
  let result: string[][] = [[]];
  for (const requirement of requirements) {
    const choices = 'allOf' in requirement ? [[...requirement.allOf]] : requirement.anyOf.map((scope) => [scope]);
    result = result.flatMap((scopes) => choices.map((choice) => [...new Set([...scopes, ...choice])]));
  }
  return result.map((scopes) => scopes.sort()).sort((a, b) => a.join(' ').localeCompare(b.join(' ')));
}

/** The controller class and handler an operation documents, by its default id `<Controller>_<handler>`. */
function handlerOf(app: INestApplication, operationId: string): { controller: Type; handler: object } {
  const [controllerName, methodName] = operationId.split('_') as [string, string];
  for (const moduleRef of app.get(ModulesContainer).values()) {
    for (const { metatype } of moduleRef.controllers.values()) {
      if (typeof metatype === 'function' && metatype.name === controllerName) {
        return { controller: metatype as Type, handler: (metatype.prototype as Record<string, object>)[methodName]! };
      }
    }
  }
  throw new Error(`no controller ${controllerName} in the app`);
}

/** The `@Scopes()` requirements of a handler and its controller, straight from the metadata. */
function declaredScopes(app: INestApplication, operationId: string): ScopeRequirement[] {
  const { controller, handler } = handlerOf(app, operationId);
  return [controller, handler].flatMap(
    (target) => (Reflect.getMetadata(SCOPES_METADATA, target) as ScopeRequirement[] | undefined) ?? [],
  );
}

/** Whether a granted scope (a pattern) covers a required one, as the module matches them. */
const covers = (granted: string, wanted: string): boolean =>
  granted === '*' || granted === wanted || (granted.endsWith(':*') && wanted.startsWith(granted.slice(0, -1)));

const JSON_TYPES: Readonly<Record<string, (value: unknown) => boolean>> = {
  object: (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  string: (value) => typeof value === 'string',
  integer: (value) => Number.isInteger(value),
  number: (value) => typeof value === 'number',
  boolean: (value) => typeof value === 'boolean',
  array: Array.isArray,
  null: (value) => value === null,
};

/**
 * What a JSON schema, as the document writes them (`$ref`, `oneOf`, `anyOf`, `allOf`, `type` or
 * OpenAPI 3.1's list of types, 3.0's `nullable`, `enum`, `format: date-time`, `items`,
 * `required`, `properties`, `additionalProperties`), says of `value`. An object may have no
 * property its schema does not name, unless `additionalProperties` lets it.
 */
function conforms(document: OpenAPIObject, schema: SchemaObject | ReferenceObject, value: unknown): boolean {
  if ('$ref' in schema)
    return conforms(document, document.components!.schemas![schema.$ref.split('/').pop()!] as SchemaObject, value);
  if (schema.nullable && value === null) return true;
  if (schema.oneOf) return schema.oneOf.some((option) => conforms(document, option, value));
  if (schema.anyOf) return schema.anyOf.some((option) => conforms(document, option, value));
  if (schema.allOf && !schema.allOf.every((part) => conforms(document, part, value))) return false;
  if (schema.enum && !schema.enum.includes(value)) return false;
  const types = schema.type === undefined ? [] : [schema.type].flat();
  if (types.length > 0 && !types.some((type) => JSON_TYPES[type]!(value))) return false;
  if (schema.format === 'date-time' && typeof value === 'string' && !/^\d{4}-\d\d-\d\dT[\d:.]+Z$/.test(value))
    return false;
  if (Array.isArray(value))
    return value.every((item) => schema.items === undefined || conforms(document, schema.items, item));
  if (!JSON_TYPES.object!(value) || (schema.properties === undefined && schema.additionalProperties === undefined))
    return true;
  const object = value as Record<string, unknown>;
  if (!(schema.required ?? []).every((name) => name in object)) return false;
  return Object.entries(object).every(([name, entry]) => {
    const property = schema.properties?.[name] ?? schema.additionalProperties;
    if (property === true) return true;
    return property !== undefined && property !== false && conforms(document, property, entry);
  });
}

const response = (operation: OperationObject, status: string): ResponseObject | undefined =>
  operation.responses[status] as ResponseObject | undefined;
const jsonOf = (answer: ResponseObject | undefined) => answer?.content?.['application/json'];
const headerExample = (answer: ResponseObject | undefined, name: string): unknown =>
  (answer?.headers?.[name] as { example?: unknown } | undefined)?.example;
const exampleValue = (answer: ResponseObject | undefined, name: string): unknown =>
  (jsonOf(answer)?.examples?.[name] as { value?: unknown } | undefined)?.value;

/** A token with every part of a usage policy, and metadata: a view with every field filled. */
const WITH_A_POLICY = {
  name: 'with a policy',
  scopes: ['tokens:read'],
  rateLimit: { limit: 10, window: 60 },
  maxUses: 5,
  usesPeriod: 3600,
  allowedIps: ['10.0.0.0/8'],
  metadata: { pipeline: 'nightly' },
};

describe.each(HTTP_ADAPTERS)('the demo on $server documents its routes in OpenAPI', ({ adapter }) => {
  let demo: DemoApp;
  let document: OpenAPIObject;
  let operations: Operation[];

  beforeAll(async () => {
    demo = await startDemoApp({ httpAdapter: adapter });
    document = (await demo.http.get('/docs-json').expect(200)).body as OpenAPIObject;
    operations = operationsOf(document);
  });
  afterAll(() => demo?.close());

  /** Signs a new user up to the demo, named `name` and the server's; their id. */
  const signUp = async (name: string): Promise<number> => {
    const signup = await demo.http
      .post('/users')
      .send({ username: `${name}-${adapter}`, password: 'correct horse battery' })
      .expect(201);
    return (signup.body as { id: number }).id;
  };

  it('serves Swagger UI at /docs, with its files', async () => {
    const page = await demo.http.get('/docs').expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('swagger-ui');
    const bundle = await demo.http.get('/docs/swagger-ui-bundle.js').expect(200);
    expect(bundle.text.length).toBeGreaterThan(100_000);
  });

  it('has every route the server serves, but those the app hides from it, and no other', () => {
    const served = servedRoutes(demo.app).filter((route) => !NOT_CONTROLLER_ROUTES.test(route));
    const hidden = excludedRoutes(demo.app);
    const documented = operations.map(({ method, path }) => key(method, path)).sort();
    expect(served.length).toBeGreaterThan(15);
    expect(documented.filter((route) => hidden.includes(route))).toEqual([]);
    expect([...documented, ...hidden].sort()).toEqual(served);
  });

  it('offers the Bearer scheme with the token format, and HTTP Basic with the token as user name', () => {
    const schemes = document.components!.securitySchemes!;
    expect(schemes.accessToken).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'nat_…' });
    expect(schemes.accessToken).toMatchObject({
      description: expect.stringMatching(/`nat_` and 83 base62 characters/),
    });
    expect(schemes.accessTokenBasic).toMatchObject({
      type: 'http',
      scheme: 'basic',
      description: expect.stringContaining('curl http://TOKEN:@host/'),
    });
    // The demo does not take the token in the query string unless TOKEN_QUERY_PARAMETER says so.
    expect(schemes).not.toHaveProperty('accessTokenQuery');
  });

  it('marks a route public exactly when a request without credentials gets through, and documents the 401 it gets otherwise', async () => {
    const guarded = operations.filter(({ operation }) => (operation.security ?? []).length > 0);
    expect(guarded.length).toBeGreaterThan(5);
    expect(guarded.length).toBeLessThan(operations.length);
    for (const op of operations) {
      const answer = await call(demo.http, op);
      const name = key(op.method, op.path);
      if (!guarded.includes(op)) {
        expect({ name, status: answer.status }).not.toEqual({ name, status: 401 });
        expect({ name, documented401: response(op.operation, '401') }).toEqual({ name, documented401: undefined });
        continue;
      }
      const documented = response(op.operation, '401');
      expect({ name, status: answer.status }).toEqual({ name, status: 401 });
      // The body and challenge the module sends are those the document shows, and fit its schema.
      expect({ name, body: answer.body as unknown }).toEqual({
        name,
        body: exampleValue(documented, 'credentials_missing'),
      });
      expect({ name, challenge: answer.headers['www-authenticate'] }).toEqual({
        name,
        challenge: headerExample(documented, 'WWW-Authenticate'),
      });
      expect({ name, conforms: conforms(document, jsonOf(documented)!.schema!, answer.body) }).toEqual({
        name,
        conforms: true,
      });
    }
  });

  it('lists on each guarded route exactly the scopes its handler requires, for each scheme, with an insufficient_scope 403 where it requires any', () => {
    for (const { method, path, operation } of operations) {
      const name = key(method, path);
      const requirements = declaredScopes(demo.app, operation.operationId!);
      if ((operation.security ?? []).length === 0) {
        expect({ name, requirements }).toEqual({ name, requirements: [] });
        continue;
      }
      const expected = alternatives(requirements);
      expect({ name, bearer: scopesOf(operation.security, 'accessToken') }).toEqual({ name, bearer: expected });
      expect({ name, basic: scopesOf(operation.security, 'accessTokenBasic') }).toEqual({ name, basic: expected });
      // Any route a token reaches has a 403 (a token's usage policy); insufficient_scope only where scopes are required.
      expect({
        name,
        has403: response(operation, '403') !== undefined,
        insufficientScope: exampleValue(response(operation, '403'), 'insufficient_scope') !== undefined,
      }).toEqual({ name, has403: true, insufficientScope: requirements.length > 0 });
      if (requirements.length > 0) {
        expect(operation.description).toContain('Needs an access token with');
        for (const scope of expected.flat()) expect(operation.description).toContain(`\`${scope}\``);
      }
    }
  });

  it("documents which owners' tokens each route takes, and answers as documented", async () => {
    const teamOnly = operations.filter(
      ({ operation }) => exampleValue(response(operation, '403'), 'team_token_required') !== undefined,
    );
    expect(teamOnly.map(({ method, path }) => key(method, path))).toEqual(['GET /teams/{id}']);
    // Every other route that takes a token refuses a team's.
    for (const { method, path, operation } of operations.filter((op) => !teamOnly.includes(op))) {
      if (!operation.security?.some((requirement) => 'accessToken' in requirement)) continue;
      const name = key(method, path);
      expect({
        name,
        documented: exampleValue(response(operation, '403'), 'personal_token_required') !== undefined,
      }).toEqual({ name, documented: true });
    }
    const memberId = await signUp('owners');
    const personal = (await demo.app.get(TokensService).issue(memberId, { name: 'p' })).token;
    const created = await demo.http.post('/teams').set('Authorization', `Bearer ${personal}`).send({ name: 'docs' });
    const teamId = (created.body as { id: number }).id;
    const { token: teamToken } = await demo.app
      .get(TeamTokensService)
      .issue(teamId, memberId, { name: 't', scopes: ['teams:read'] });
    for (const [token, path, reason] of [
      [personal, `/teams/${teamId}`, 'team_token_required'],
      [teamToken, '/users/me', 'personal_token_required'],
    ] as const) {
      const answer = await demo.http.get(path).set('Authorization', `Bearer ${token}`).expect(403);
      const documented = operations.find(
        (op) => key(op.method, op.path) === (path === '/users/me' ? 'GET /users/me' : 'GET /teams/{id}'),
      )!;
      expect(answer.body).toEqual(exampleValue(response(documented.operation, '403'), reason));
      expect(conforms(document, jsonOf(response(documented.operation, '403'))!.schema!, answer.body)).toBe(true);
    }
  });

  it('gets the 403 it documents when the token lacks the scopes', async () => {
    const user = { id: await signUp('openapi'), isAdmin: false } as User;
    const tokens = demo.app.get(TokensService);
    // A route for teams' tokens only (@TokenOwners('team'), documented with team_token_required)
    // refuses a personal token before its scopes: the next test has it.
    const scoped = operations.filter(
      ({ operation }) =>
        exampleValue(response(operation, '403'), 'insufficient_scope') !== undefined &&
        exampleValue(response(operation, '403'), 'team_token_required') === undefined,
    );
    expect(scoped.length).toBeGreaterThan(3);
    for (const op of scoped) {
      const name = key(op.method, op.path);
      const required = scopesOf(op.operation.security, 'accessToken').flat();
      // Every scope the user may have but those that would satisfy the route.
      const scopes = permissionsOf(user).filter((scope) => !required.some((wanted) => covers(scope, wanted)));
      expect({ name, scopes: scopes.length > 0 }).toEqual({ name, scopes: true });
      const { token } = await tokens.issue(user.id, { name, scopes });
      const answer = await call(demo.http, op).set('Authorization', `Bearer ${token}`);
      const documented = response(op.operation, '403');
      expect({ name, status: answer.status, error: (answer.body as { error?: string }).error }).toEqual({
        name,
        status: 403,
        error: 'insufficient_scope',
      });
      expect({ name, conforms: conforms(document, jsonOf(documented)!.schema!, answer.body) }).toEqual({
        name,
        conforms: true,
      });
      // Each requirement of the demo is all-of: the challenge names exactly the documented scopes.
      expect({ name, challenge: answer.headers['www-authenticate'] }).toEqual({
        name,
        challenge: headerExample(documented, 'WWW-Authenticate'),
      });
      expect({
        name,
        scope: /scope="([^"]*)"/.exec(answer.headers['www-authenticate']!)?.[1]?.split(' ').sort(),
      }).toEqual({ name, scope: [...required].sort() });
    }
  });

  it('documents the 400 of malformed credentials on guarded routes, as the module answers it', async () => {
    for (const op of operations.filter(({ operation }) => (operation.security ?? []).length > 0)) {
      const name = key(op.method, op.path);
      const answer = await call(demo.http, op).set('Authorization', 'Bearer');
      const documented = response(op.operation, '400');
      expect({ name, status: answer.status }).toEqual({ name, status: 400 });
      expect({ name, body: answer.body as unknown }).toEqual({
        name,
        body: exampleValue(documented, 'invalid_request'),
      });
      expect({ name, conforms: conforms(document, jsonOf(documented)!.schema!, answer.body) }).toEqual({
        name,
        conforms: true,
      });
      expect({ name, challenge: answer.headers['www-authenticate'] }).toEqual({
        name,
        challenge: headerExample(documented, 'WWW-Authenticate'),
      });
    }
  });

  it('documents a 400 on every route that takes input, and a body that does not parse gets it', async () => {
    const withInput = operations.filter(
      ({ operation }) => operation.requestBody !== undefined || (operation.parameters ?? []).length > 0,
    );
    expect(withInput.length).toBeGreaterThan(10);
    for (const op of withInput) {
      const name = key(op.method, op.path);
      const documented = response(op.operation, '400');
      expect({ name, has400: documented !== undefined }).toEqual({ name, has400: true });
      if (op.operation.requestBody === undefined) continue;
      const url = op.path.replace(/\{[^}]+\}/g, '1');
      const answer = await demo.http[op.method](url).set('Content-Type', 'application/json').send('{"name":');
      expect({ name, status: answer.status }).toEqual({ name, status: 400 });
      expect({ name, conforms: conforms(document, jsonOf(documented)!.schema!, answer.body) }).toEqual({
        name,
        conforms: true,
      });
    }
  });

  it('documents each body and query DTO with its properties', () => {
    const schemas = document.components!.schemas!;
    let bodies = 0;
    for (const { method, path, operation } of operations) {
      const name = key(method, path);
      const body = (operation.requestBody as { content?: Record<string, { schema?: { $ref?: string } }> } | undefined)
        ?.content?.['application/json']?.schema;
      if (body) {
        bodies++;
        const schema = schemas[body.$ref!.split('/').pop()!] as SchemaObject;
        expect({ name, properties: Object.keys(schema.properties ?? {}).length > 0 }).toEqual({
          name,
          properties: true,
        });
        for (const [property, definition] of Object.entries(schema.properties!)) {
          // A nullable nested DTO is `anyOf: [{ $ref }, { type: 'null' }]` in OpenAPI 3.1.
          const typed =
            'type' in definition || '$ref' in definition || (definition.anyOf ?? []).some((option) => '$ref' in option);
          expect({ name, property, typed }).toEqual({
            name,
            property,
            typed: true,
          });
        }
      }
    }
    expect(bodies).toBeGreaterThan(8);
    // The token list's query, read by the routes' own pipe, as parameters with their rules.
    const list = operations.find(({ method, path }) => method === 'get' && path === '/tokens')!.operation;
    expect(list.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'limit',
          in: 'query',
          required: false,
          schema: expect.objectContaining({ type: 'integer', maximum: 100 }),
        }),
        expect.objectContaining({
          name: 'status',
          in: 'query',
          schema: expect.objectContaining({ enum: ['live', 'all'] }),
        }),
      ]),
    );
  });

  /** The JSON body schema a route documents for `status`. */
  const answerSchema = (method: Operation['method'], path: string, status: string) =>
    jsonOf(response(operations.find((op) => op.method === method && op.path === path)!.operation, status))?.schema;
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

  it("documents each successful answer of the token and session routes with its model, the token's usage policy in the view", () => {
    expect(answerSchema('get', '/tokens', '200')).toEqual({ type: 'array', items: ref('AccessTokenView') });
    expect(answerSchema('patch', '/tokens/{id}', '200')).toEqual(ref('AccessTokenView'));
    expect(answerSchema('post', '/tokens', '201')).toEqual(ref('CreatedToken'));
    expect(answerSchema('post', '/tokens/{id}/rotate', '201')).toEqual(ref('CreatedToken'));
    expect(answerSchema('post', '/tokens/generate', '201')).toEqual(ref('GeneratedToken'));
    expect(answerSchema('post', '/tokens/revoke', '200')).toEqual(ref('RevocationNotice'));
    expect(answerSchema('post', '/auth/login', '200')).toEqual(ref('LoginSession'));
    expect(answerSchema('post', '/auth/refresh', '200')).toEqual(ref('TokenPair'));
    // The demo's own routes, by the models the package exports.
    expect(answerSchema('get', '/teams/{id}/tokens', '200')).toEqual({ type: 'array', items: ref('AccessTokenView') });
    expect(answerSchema('post', '/teams/{id}/tokens', '201')).toEqual(ref('CreatedToken'));
    expect(answerSchema('patch', '/teams/{id}/tokens/{tokenId}', '200')).toEqual(ref('AccessTokenView'));
    expect(answerSchema('post', '/teams/{id}/tokens/{tokenId}/rotate', '201')).toEqual(ref('CreatedToken'));
    expect(answerSchema('get', '/teams', '200')).toEqual({ type: 'array', items: ref('TeamWithTokens') });

    const schemas = document.components!.schemas!;
    const view = schemas.AccessTokenView as SchemaObject;
    // OpenAPI 3.1 (the demo's): null is a type of its own.
    expect(view.properties).toMatchObject({
      kind: { type: 'string', enum: ['personal', 'team', 'session'] },
      enabled: { type: 'boolean' },
      rateLimit: { anyOf: [ref('TokenRateLimit'), { type: 'null' }] },
      maxUses: { type: ['integer', 'null'] },
      usesLeft: { type: ['integer', 'null'] },
      usesPeriod: { type: ['integer', 'null'] },
      usesRenewAt: { type: ['string', 'null'], format: 'date-time' },
      allowedIps: { type: ['array', 'null'], items: { type: 'string' } },
      metadata: { type: ['object', 'null'], additionalProperties: true },
      createdAt: { type: 'string', format: 'date-time' },
    });
    for (const [name, property] of Object.entries(view.properties!))
      expect({ name, typed: 'type' in property || 'anyOf' in property, described: 'description' in property }).toEqual({
        name,
        typed: true,
        described: true,
      });
    expect(schemas.TokenRateLimit).toMatchObject({ required: ['limit', 'window'] });
    expect(Object.keys((schemas.CreatedToken as SchemaObject).properties!).sort()).toEqual(
      [...Object.keys(view.properties!), 'token'].sort(),
    );
    // The status the settings page shows, an enum.
    expect((schemas.ListedTeamToken as SchemaObject).properties!.status).toMatchObject({
      enum: ['live', 'expired', 'revoked'],
    });
  });

  it("documents exactly the properties of a token's view: one added to AccessTokenView without its schema fails here", async () => {
    const userId = await signUp('view');
    const tokens = demo.app.get(TokensService);
    await tokens.issue(userId, WITH_A_POLICY);
    const [view] = await tokens.list(userId);
    const schema = document.components!.schemas!.AccessTokenView as SchemaObject;
    expect(Object.keys(view!).sort()).toEqual(Object.keys(schema.properties!).sort());
    expect([...schema.required!].sort()).toEqual(Object.keys(view!).sort());
    // As a client reads it: dates as strings.
    expect(conforms(document, ref('AccessTokenView'), JSON.parse(JSON.stringify(view)))).toBe(true);
  });

  it('answers each token, session and team token route with a body its document describes, in OpenAPI 3.1 and 3.0', async () => {
    // The same app's document in OpenAPI 3.0, where null is `nullable: true`.
    const legacy = await createAccessTokensDocument(
      demo.app,
      addAccessTokensSecurity(new DocumentBuilder(), demo.app).build(),
    );
    expect(legacy.openapi).toBe('3.0.0');
    expect((legacy.components!.schemas!.AccessTokenView as SchemaObject).properties!.usesLeft).toMatchObject({
      type: 'integer',
      nullable: true,
    });
    const answers: [Operation['method'], string, request.Response][] = [];
    const username = `answers-${adapter}`;
    const password = 'correct horse battery';
    await demo.http.post('/users').send({ username, password }).expect(201);
    const login = await demo.http.post('/auth/login').send({ username, password }).expect(200);
    answers.push(['post', '/auth/login', login]);
    const { refreshToken } = login.body as { refreshToken: string };
    answers.push(['post', '/auth/refresh', await demo.http.post('/auth/refresh').send({ refreshToken }).expect(200)]);
    const generated = await demo.http
      .post('/tokens/generate')
      .auth(username, password)
      .send({ name: 'generated', scopes: ['tokens:read', 'tokens:write'] })
      .expect(201);
    answers.push(['post', '/tokens/generate', generated]);
    const bearer = `Bearer ${(generated.body as { token: string }).token}`;
    const created = await demo.http
      .post('/tokens')
      .set('Authorization', bearer)
      .send({
        ...WITH_A_POLICY,
      })
      .expect(201);
    answers.push(['post', '/tokens', created]);
    const id = (created.body as { id: string }).id;
    const rotated = await demo.http.post(`/tokens/${id}/rotate`).set('Authorization', bearer).send({}).expect(201);
    answers.push(['post', '/tokens/{id}/rotate', rotated]);
    const rotatedId = (rotated.body as { id: string }).id;
    answers.push([
      'patch',
      '/tokens/{id}',
      await demo.http.patch(`/tokens/${rotatedId}`).set('Authorization', bearer).send({ enabled: false }).expect(200),
    ]);
    answers.push(['get', '/tokens', await demo.http.get('/tokens').set('Authorization', bearer).expect(200)]);
    answers.push([
      'post',
      '/tokens/revoke',
      await demo.http
        .post('/tokens/revoke')
        .send({ token: `nat_${'0'.repeat(83)}` })
        .expect(200),
    ]);
    const team = await demo.http.post('/teams').set('Authorization', bearer).send({ name: 'answers' }).expect(201);
    const teamId = (team.body as { id: number }).id;
    answers.push([
      'post',
      '/teams/{id}/tokens',
      await demo.http
        .post(`/teams/${teamId}/tokens`)
        .set('Authorization', bearer)
        .send({ name: 'deploys', scopes: ['teams:read'] })
        .expect(201),
    ]);
    const teamTokenId = (answers.at(-1)![2].body as { id: string }).id;
    answers.push([
      'patch',
      '/teams/{id}/tokens/{tokenId}',
      await demo.http
        .patch(`/teams/${teamId}/tokens/${teamTokenId}`)
        .set('Authorization', bearer)
        .send({ maxUses: 10 })
        .expect(200),
    ]);
    answers.push([
      'post',
      '/teams/{id}/tokens/{tokenId}/rotate',
      await demo.http
        .post(`/teams/${teamId}/tokens/${teamTokenId}/rotate`)
        .set('Authorization', bearer)
        .send({})
        .expect(201),
    ]);
    answers.push([
      'get',
      '/teams/{id}/tokens',
      await demo.http.get(`/teams/${teamId}/tokens`).set('Authorization', bearer).expect(200),
    ]);
    answers.push(['get', '/teams', await demo.http.get('/teams').set('Authorization', bearer).expect(200)]);

    // A list answers something of each kind it lists.
    expect(
      (answers.find(([method, path]) => method === 'get' && path === '/tokens')![2].body as unknown[]).length,
    ).toBeGreaterThan(1);
    for (const [version, doc] of [
      ['3.1', document],
      ['3.0', legacy],
    ] as const) {
      for (const [method, path, answer] of answers) {
        const name = `${version} ${key(method, path)}`;
        const schema = jsonOf(response(doc.paths[path]![method]!, String(answer.status)))?.schema;
        expect({ name, documented: schema !== undefined }).toEqual({ name, documented: true });
        expect({ name, conforms: conforms(doc, schema!, answer.body) }).toEqual({ name, conforms: true });
      }
    }
  });

  it("documents on every guarded route the refusals of a token's usage policy, and the RateLimit headers of its answers", () => {
    for (const { method, path, operation } of operations.filter(
      ({ operation }) => (operation.security ?? []).length > 0,
    )) {
      const name = key(method, path);
      expect({ name, paused: exampleValue(response(operation, '401'), 'paused') }).toMatchObject({
        name,
        paused: { error: 'invalid_token', reason: 'paused' },
      });
      expect({
        name,
        forbidden: Object.keys(jsonOf(response(operation, '403'))?.examples ?? {}).filter(
          // The owners' refusals are the next test's.
          (example) => !example.startsWith('insufficient_scope') && !example.endsWith('_token_required'),
        ),
      }).toEqual({ name, forbidden: ['ip_not_allowed', 'uses_exhausted'] });
      expect({ name, headers: Object.keys(response(operation, '429')?.headers ?? {}) }).toEqual({
        name,
        headers: ['Retry-After', 'RateLimit-Policy', 'RateLimit'],
      });
      expect({ name, rateLimited: exampleValue(response(operation, '429'), 'rate_limited') }).toMatchObject({
        name,
        rateLimited: { statusCode: 429, reason: 'rate_limited' },
      });
      for (const [status, answer] of Object.entries(operation.responses).filter(([status]) => status.startsWith('2')))
        expect({ name, status, headers: Object.keys((answer as ResponseObject).headers ?? {}) }).toEqual({
          name,
          status,
          headers: expect.arrayContaining(['RateLimit-Policy', 'RateLimit']),
        });
    }
  });

  it('answers a paused, a rate-limited and an exhausted token as it documents', async () => {
    const userId = await signUp('policy');
    const tokens = demo.app.get(TokensService);
    const op = operations.find(({ method, path }) => method === 'get' && path === '/users/me')!;
    const me = (token: string) => demo.http.get('/users/me').set('Authorization', `Bearer ${token}`);

    const paused = await tokens.issue(userId, { name: 'paused' });
    await tokens.pause(userId, paused.accessToken.id);
    const refused = await me(paused.token).expect(401);
    expect(refused.body).toEqual(exampleValue(response(op.operation, '401'), 'paused'));

    const limited = (await tokens.issue(userId, { name: 'limited', rateLimit: { limit: 1, window: 3600 } })).token;
    const first = await me(limited).expect(200);
    expect(first.headers['ratelimit-policy']).toBe('"token";q=1;w=3600');
    const over = await me(limited).expect(429);
    expect(conforms(document, jsonOf(response(op.operation, '429'))!.schema!, over.body)).toBe(true);
    expect(over.body).toMatchObject({ error: 'rate_limited', reason: 'rate_limited' });
    for (const header of ['retry-after', 'ratelimit-policy', 'ratelimit']) expect(over.headers).toHaveProperty(header);

    const once = (await tokens.issue(userId, { name: 'once', maxUses: 1 })).token;
    await me(once).expect(200);
    const exhausted = await me(once).expect(403);
    expect(conforms(document, jsonOf(response(op.operation, '403'))!.schema!, exhausted.body)).toBe(true);
    expect(exhausted.body).toEqual(exampleValue(response(op.operation, '403'), 'uses_exhausted'));
  });

  it("documents the token routes' usage policy fields: the nested rate limit, nullable parts, enabled", () => {
    const schemas = document.components!.schemas!;
    const bodyOf = (method: 'post' | 'patch', path: string): SchemaObject => {
      const ref = (
        operations.find((op) => op.method === method && op.path === path)!.operation.requestBody as {
          content: Record<string, { schema: { $ref: string } }>;
        }
      ).content['application/json']!.schema.$ref;
      return schemas[ref.split('/').pop()!] as SchemaObject;
    };
    const create = bodyOf('post', '/tokens');
    const update = bodyOf('patch', '/tokens/{id}');
    for (const body of [create, update]) {
      // OpenAPI 3.1 (the demo's): null is a type of its own.
      expect(body.properties).toMatchObject({
        maxUses: { type: ['integer', 'null'], minimum: 1 },
        usesPeriod: { type: ['integer', 'null'], minimum: 1 },
        allowedIps: { type: ['array', 'null'], items: { type: 'string' }, minItems: 1, maxItems: 100 },
        rateLimit: { anyOf: [{ $ref: '#/components/schemas/RateLimitDto' }, { type: 'null' }] },
      });
      for (const part of ['rateLimit', 'maxUses', 'usesPeriod', 'allowedIps'])
        expect(body.required ?? []).not.toContain(part);
    }
    expect(update.properties!.enabled).toEqual({ type: 'boolean' });
    // Metadata: any JSON object (the module checks its bounds), null on an update removing it.
    for (const body of [create, update]) {
      expect(body.properties!.metadata).toEqual({ type: ['object', 'null'], additionalProperties: true });
      expect(body.required ?? []).not.toContain('metadata');
    }
    expect(create.properties!.canary).toEqual({ type: 'boolean' });
    expect(update.properties).not.toHaveProperty('canary');
    expect(schemas.RateLimitDto).toMatchObject({
      type: 'object',
      required: ['limit', 'window'],
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
        window: { type: 'integer', minimum: 1, maximum: 31_536_000 },
      },
    });
  });

  it('says which route also takes a password, and documents its 429', () => {
    const password = operations.filter(({ operation }) => operation.description?.includes('name and password'));
    expect(password.map(({ method, path }) => key(method, path))).toEqual(['POST /tokens/generate']);
    const { operation } = password[0]!;
    expect(exampleValue(response(operation, '401'), 'invalid_credentials')).toMatchObject({
      error: 'invalid_credentials',
    });
    expect(headerExample(response(operation, '401'), 'WWW-Authenticate')).toBe('Basic realm="api", Bearer realm="api"');
    expect(response(operation, '429')?.headers).toHaveProperty('Retry-After');
    expect(exampleValue(response(operation, '429'), 'too_many_attempts')).toMatchObject({
      error: 'too_many_attempts',
    });
  });
});

describe.each(HTTP_ADAPTERS)('an app that guards per controller, on $server', ({ adapter }) => {
  let database: TestDatabase;
  let app: INestApplication;
  let document: OpenAPIObject;

  beforeAll(async () => {
    database = await createTestDatabase();
    const moduleRef = await Test.createTestingModule({
      imports: [FixtureAppModule.forRoot(database.options, AccessTokensModule.forRoot(FIXTURE_OPTIONS))],
    }).compile();
    app = await createAppOn(moduleRef, adapter, {
      logger: false,
      configure: async (app) => {
        const config = addAccessTokensSecurity(new DocumentBuilder().setTitle('Reports API'), app).build();
        SwaggerModule.setup('docs', app, await createAccessTokensDocument(app, config));
      },
    });
    document = (await request(app.getHttpServer()).get('/docs-json').expect(200)).body as OpenAPIObject;
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  const security = (path: string) => document.paths[path]!.get!.security;

  it("reads @UseGuards(AccessTokenGuard, ScopesGuard) and the controller's and handler's @Scopes()", () => {
    expect(security('/reports')).toEqual([
      { accessToken: ['reports:read'] },
      { accessTokenBasic: ['reports:read'] },
      { accessTokenQuery: ['reports:read'] },
    ]);
    expect(scopesOf(security('/reports/export'), 'accessToken')).toEqual([['reports:export', 'reports:read']]);
    // anyOf: one requirement per way to satisfy it, all-of the controller's scope in each.
    expect(scopesOf(security('/reports/billing'), 'accessTokenQuery')).toEqual([
      ['billing:read', 'reports:read'],
      ['reports:admin', 'reports:read'],
    ]);
    expect(document.paths['/reports/billing']!.get!.description).toBe(
      'Needs an access token with the scope `reports:read` and one of the scopes `reports:admin` or `billing:read`. A token with `reports:*`, `billing:*` or `*` has them too.',
    );
  });

  it("reads Passport's AuthGuard('access-token'): a token of any scope, a 403 of its usage policy only", () => {
    expect(security('/passport')).toEqual([{ accessToken: [] }, { accessTokenBasic: [] }, { accessTokenQuery: [] }]);
    const forbidden = response(document.paths['/passport']!.get!, '403');
    expect(Object.keys(jsonOf(forbidden)!.examples!)).toEqual(['ip_not_allowed', 'uses_exhausted']);
  });

  it('offers the query parameter the module allows, and shows its prefix and realm', () => {
    expect(document.components!.securitySchemes!.accessTokenQuery).toMatchObject({
      type: 'apiKey',
      in: 'query',
      name: 'access_token',
    });
    expect(document.components!.securitySchemes!.accessToken).toMatchObject({ bearerFormat: 'fx_…' });
    expect(headerExample(response(document.paths['/reports']!.get!, '401'), 'WWW-Authenticate')).toBe(
      'Bearer realm="fixture"',
    );
  });

  it("leaves nothing on the app's classes once the document is built", async () => {
    const { controller, handler } = handlerOf(app, 'ReportsController_billing');
    const before = [
      Reflect.getMetadataKeys(handler).sort(),
      Reflect.getMetadataKeys(controller.prototype as object, 'billing').sort(),
    ];
    const config = addAccessTokensSecurity(new DocumentBuilder(), app).build();
    const again = await createAccessTokensDocument(app, config);
    expect(again.paths).toEqual(document.paths);
    expect([
      Reflect.getMetadataKeys(handler).sort(),
      Reflect.getMetadataKeys(controller.prototype as object, 'billing').sort(),
    ]).toEqual(before);
    expect(Reflect.getMetadata(DECORATORS.API_EXTENSION, handler)).toBeUndefined();
  });

  it('refuses a config without the access token schemes, saying what to add', async () => {
    await expect(createAccessTokensDocument(app, new DocumentBuilder().build())).rejects.toThrow(
      errors.InvalidOptionsError,
    );
    await expect(createAccessTokensDocument(app, new DocumentBuilder().build())).rejects.toThrow(
      /addAccessTokensSecurity/,
    );
  });
});

/** A guard of the app's own: partners authenticate on their routes, `@Public()` or not, by token or their own password. */
@Injectable()
class PartnerGuard extends AccessTokenGuard {
  protected override isPublic(): boolean {
    return false;
  }

  protected override async authenticatePassword(request: AuthenticatableRequest, username: string): Promise<void> {
    if (username !== 'partner') throw new errors.InvalidCredentialsError();
    request.user = { memberId: 'partner' };
  }
}

@Public()
@UseGuards(PartnerGuard)
@Controller('partners')
class PartnersController {
  @Get()
  list() {
    return [];
  }
}

@Public()
@Controller('status')
class StatusController {
  @Get()
  status() {
    return { ok: true };
  }
}

describe.each(HTTP_ADAPTERS)(
  'an app with a global AccessTokenGuard and a subclass of its own, on $server',
  ({ adapter }) => {
    let database: TestDatabase;
    let app: INestApplication;
    let document: OpenAPIObject;

    beforeAll(async () => {
      database = await createTestDatabase();
      @Module({
        imports: [
          TypeOrmModule.forRoot({ ...database.options, entities: [Member, AccessToken], synchronize: true }),
          AccessTokensModule.forRoot(FIXTURE_OPTIONS),
        ],
        controllers: [PartnersController, StatusController],
        providers: [{ provide: APP_GUARD, useClass: AccessTokenGuard }, PartnerGuard],
      })
      class PartnersModule {}
      const moduleRef = await Test.createTestingModule({ imports: [PartnersModule] }).compile();
      app = await createAppOn(moduleRef, adapter, { logger: false });
      // The global security requirement, too: a public route must then say it needs none.
      const config = addAccessTokensSecurity(new DocumentBuilder(), app).addSecurityRequirements('accessToken').build();
      document = await createAccessTokensDocument(app, config);
    });
    afterAll(async () => {
      await app?.close();
      await database?.drop();
    });

    it('asks the guard whether a route is public, and documents its own password check', async () => {
      const partners = document.paths['/partners']!.get!;
      expect(scopesOf(partners.security, 'accessToken')).toEqual([[]]);
      expect(partners.description).toBe(
        "Needs an access token (any scope), or the user's name and password by HTTP Basic.",
      );
      expect(exampleValue(response(partners, '401'), 'invalid_credentials')).toMatchObject({
        error: 'invalid_credentials',
      });
      // Its own check is not the module's throttled grant: a token's rate limit is its only 429.
      expect(Object.keys(jsonOf(response(partners, '429'))!.examples!)).toEqual(['rate_limited', 'uses_exhausted']);
      await request(app.getHttpServer()).get('/partners').expect(401);
    });

    it('gives a public route an empty requirement over the global one', async () => {
      expect(document.security).toEqual([{ accessToken: [] }]);
      expect(document.paths['/status']!.get!.security).toEqual([]);
      expect(document.paths['/status']!.get!.responses).not.toHaveProperty('401');
      await request(app.getHttpServer()).get('/status').expect(200);
    });
  },
);
