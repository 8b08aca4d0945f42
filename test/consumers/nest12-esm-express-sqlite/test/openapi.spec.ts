import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type {
  OpenAPIObject,
  OperationObject,
  ParameterObject,
  ReferenceObject,
  RequestBodyObject,
  SchemaObject,
} from '@nestjs/swagger';
import { AppModule } from '../src/app.module.js';
import { configureApp } from '../src/configure.js';
import { openApiDocument } from '../src/openapi.js';

type Method = 'get' | 'post' | 'patch';

// The document main.ts serves at /docs, built by the package's createAccessTokensDocument from the
// app with its global ValidationPipe: the ready-made routes' bodies and query as their DTOs have them.
describe('the OpenAPI document of the app (createAccessTokensDocument)', () => {
  let app: INestApplication;
  let document: OpenAPIObject;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot()] }).compile();
    app = configureApp(moduleRef.createNestApplication({ logger: false }));
    await app.init();
    document = await openApiDocument(app);
  });

  afterAll(async () => {
    await app?.close();
  });

  function operation(method: Method, path: string): OperationObject {
    const found = document.paths[path]?.[method];
    if (!found)
      throw new Error(
        `the document has no ${method.toUpperCase()} ${path}; it has ${Object.keys(document.paths).join(', ')}`,
      );
    return found;
  }

  /** The JSON body schema of an operation, its `$ref` followed: where it is named, and what it is. */
  function bodyOf(method: Method, path: string): { ref: string | undefined; schema: SchemaObject } {
    const body = operation(method, path).requestBody as RequestBodyObject | undefined;
    const schema = body?.content['application/json']?.schema;
    if (!schema) throw new Error(`${method.toUpperCase()} ${path} documents no JSON body`);
    const ref = (schema as ReferenceObject).$ref;
    if (ref === undefined) return { ref, schema: schema as SchemaObject };
    const named = document.components?.schemas?.[ref.replace('#/components/schemas/', '')];
    if (!named) throw new Error(`${method.toUpperCase()} ${path} refers to ${ref}, which the document lacks`);
    return { ref, schema: named as SchemaObject };
  }

  /** A token's usage policy, in every body that issues or changes one. */
  const POLICY = ['allowedIps', 'maxUses', 'rateLimit', 'usesPeriod'];

  it.each<[Method, string, string[]]>([
    ['post', '/access-tokens/generate', [...POLICY, 'expiresIn', 'metadata', 'name', 'scopes'].sort()],
    ['post', '/access-tokens', [...POLICY, 'canary', 'expiresIn', 'metadata', 'name', 'scopes'].sort()],
    ['patch', '/access-tokens/{id}', [...POLICY, 'enabled', 'metadata', 'name', 'scopes'].sort()],
    ['post', '/access-tokens/{id}/rotate', ['graceSeconds']],
    ['post', '/access-tokens/revoke', ['token']],
    ['post', '/auth/login', ['password', 'username']],
    ['post', '/auth/refresh', ['refreshToken']],
  ])('documents the body of %s %s with the properties of its DTO', (method, path, properties) => {
    const { ref, schema } = bodyOf(method, path);
    expect(ref).not.toBe('#/components/schemas/Function');
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual(properties);
  });

  it('says which login fields are required', () => {
    expect([...(bodyOf('post', '/auth/login').schema.required ?? [])].sort()).toEqual(['password', 'username']);
    expect(bodyOf('post', '/auth/refresh').schema.required).toEqual(['refreshToken']);
  });

  it('has no schema named Function, nor a reference to one', () => {
    expect(Object.keys(document.components?.schemas ?? {})).not.toContain('Function');
    expect(JSON.stringify(document)).not.toContain('#/components/schemas/Function');
  });

  it('lists the query parameters of GET /access-tokens', () => {
    const parameters = (operation('get', '/access-tokens').parameters ?? []) as ParameterObject[];
    expect(
      parameters
        .filter((parameter) => parameter.in === 'query')
        .map((parameter) => parameter.name)
        .sort(),
    ).toEqual(['cursor', 'limit', 'status']);
    expect(parameters.find((parameter) => parameter.name === 'status')?.schema).toMatchObject({
      enum: ['live', 'all'],
    });
  });
});
