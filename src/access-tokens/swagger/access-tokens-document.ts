import { HttpStatus, RequestMethod, type INestApplication } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import {
  ApiProperty,
  DECORATORS,
  SwaggerModule,
  type OpenAPIObject,
  type OperationObject,
  type ResponseObject,
  type SecurityRequirementObject,
  type SwaggerDocumentOptions,
} from '@nestjs/swagger';
import { InvalidOptionsError } from '../core/access-tokens.errors.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import type { ScopeRequirement } from '../core/scopes.js';
import type { RouteAnswerModel } from '../routes/route-answer.decorator.js';
import {
  ACCESS_TOKEN_SECURITY_SCHEMES,
  ACCESS_TOKENS_REFUSAL_SCHEMA,
  INVALID_INPUT_SCHEMA,
} from './openapi.constants.js';
import {
  accessSentence,
  badRequestResponse,
  forbiddenResponse,
  INVALID_INPUT_SCHEMA_OBJECT,
  RATE_LIMIT_HEADERS,
  REFUSAL_SCHEMA,
  tooManyRequestsResponse,
  unauthorizedResponse,
} from './refusal-responses.js';
import { ROUTE_ANSWER_MODELS } from './response-models.js';
import { findRouteAccess, type Handler, type RouteAccess } from './route-access.js';
import { documentedOptions } from './security-schemes.js';
import { describeValidatedProperties, type Class, type DescribedProperty } from './validation-schemas.js';

/** Options of `createAccessTokensDocument`: `SwaggerModule.createDocument`'s, and one of its own. */
export interface AccessTokensDocumentOptions extends SwaggerDocumentOptions {
  /**
   * Whether body and query DTOs without `@ApiProperty()` (nor the Swagger CLI plugin's metadata)
   * are documented from their class-validator decorators: types, required, lengths, bounds,
   * patterns, enums. The module's own DTOs have only those. Default `true`.
   */
  validationSchemas?: boolean;
}

/** The extension that carries a route's index from the handler to its operations while the document is built. */
const ROUTE_MARK = 'x-nestjs-access-tokens-route';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace', 'query'] as const;

/** Whether `type` has swagger model metadata already: its own, a parent's, or the Swagger CLI plugin's. */
function hasSwaggerModel(type: Class): boolean {
  return (
    Reflect.getMetadata(DECORATORS.API_MODEL_PROPERTIES_ARRAY, type.prototype as object) !== undefined ||
    '_OPENAPI_METADATA_FACTORY' in type
  );
}

/**
 * Marks each route's handler with its index, as an OpenAPI extension `@nestjs/swagger` copies onto
 * the handler's operations, so that each operation finds its route whatever its path (global
 * prefix, versions, `RouterModule`).
 */
function markHandlers(routes: readonly RouteAccess[], undo: (() => void)[]): void {
  const byHandler = new Map<Handler, number[]>();
  routes.forEach((route, index) => byHandler.set(route.handler, [...(byHandler.get(route.handler) ?? []), index]));
  for (const [handler, indices] of byHandler) {
    const previous = Reflect.getOwnMetadata(DECORATORS.API_EXTENSION, handler) as Record<string, unknown> | undefined;
    defineUntilUndone(undo, DECORATORS.API_EXTENSION, { ...previous, [ROUTE_MARK]: indices }, handler);
  }
}

/** Defines `key` on `target` (a property's, with `property`) until `undo` runs, which puts back what was there. */
function defineUntilUndone(undo: (() => void)[], key: string, value: unknown, target: object, property?: string): void {
  const had =
    property === undefined ? Reflect.hasOwnMetadata(key, target) : Reflect.hasOwnMetadata(key, target, property);
  const previous: unknown =
    property === undefined ? Reflect.getOwnMetadata(key, target) : Reflect.getOwnMetadata(key, target, property);
  if (property === undefined) Reflect.defineMetadata(key, value, target);
  else Reflect.defineMetadata(key, value, target, property);
  undo.push(() => {
    if (had && property === undefined) Reflect.defineMetadata(key, previous, target);
    else if (had) Reflect.defineMetadata(key, previous, target, property!);
    else if (property === undefined) Reflect.deleteMetadata(key, target);
    else Reflect.deleteMetadata(key, target, property);
  });
}

/**
 * Tells `@nestjs/swagger` the class of each body or query that TypeScript typed otherwise and a
 * pipe validates against a class (the ready-made routes type theirs `Object`, so that an app's
 * global `ValidationPipe` leaves them to their own pipe).
 */
function declareInputTypes(routes: readonly RouteAccess[], undo: (() => void)[]): void {
  for (const { controller, methodName, inputs } of routes) {
    const undeclared = inputs.filter((input) => input.undeclared);
    if (undeclared.length === 0) continue;
    const prototype = controller.prototype as object;
    const types = [
      ...((Reflect.getMetadata('design:paramtypes', prototype, methodName) as unknown[] | undefined) ?? []),
    ];
    for (const input of undeclared) types[input.index] = input.type;
    defineUntilUndone(undo, 'design:paramtypes', types, prototype, methodName);
  }
}

/**
 * Gives the routes' body and query classes (and the DTOs nested in them) `@ApiProperty()` metadata
 * read from their class-validator rules, for the time the document is built: a class that has
 * swagger metadata of its own is left as it is.
 */
function describeInputs(routes: readonly RouteAccess[], undo: (() => void)[]): void {
  const nullable = new Map<Class, boolean>();
  for (const { inputs } of routes) {
    for (const input of inputs) nullable.set(input.type, (nullable.get(input.type) ?? false) || input.in === 'body');
  }
  const described = new Map<Class, Map<string, DescribedProperty>>();
  const pending = [...nullable.keys()];
  for (let type = pending.shift(); type !== undefined; type = pending.shift()) {
    if (described.has(type) || hasSwaggerModel(type)) continue;
    const properties = describeValidatedProperties(type, { nullable: nullable.get(type) ?? true });
    described.set(type, properties);
    for (const { models } of properties.values()) pending.push(...models);
  }
  // Applied once every class is known: a parent given metadata here is no reason to skip its child.
  for (const [type, properties] of described) {
    const prototype = type.prototype as object;
    for (const [property, { options }] of properties) ApiProperty(options)(prototype, property);
    undo.push(() => {
      Reflect.deleteMetadata(DECORATORS.API_MODEL_PROPERTIES_ARRAY, prototype);
      for (const property of properties.keys())
        Reflect.deleteMetadata(DECORATORS.API_MODEL_PROPERTIES, prototype, property);
    });
  }
}

/** What each ready-made route's successful answer says of itself, beside its schema. */
const ANSWER_DESCRIPTIONS: Readonly<Record<RouteAnswerModel, string>> = {
  AccessTokenView: 'The token.',
  CreatedToken: 'The new token, with the raw token shown this once.',
  GeneratedToken: 'The new token, with the raw token shown this once.',
  TokenPair: 'The new pair of tokens; the refresh token presented works no more.',
  LoginSession: 'The new session.',
  RevocationNotice: 'The same answer whether the token existed or not.',
};

/**
 * Gives each ready-made route the `@ApiResponse()` of its answer (`@Answers()`: the routes name
 * their model, as they cannot load `@nestjs/swagger`), at the status Nest answers it with: its
 * `@HttpCode()`, else 201 for a POST and 200 otherwise, as `@nestjs/swagger` reckons it.
 */
function declareAnswers(routes: readonly RouteAccess[], undo: (() => void)[]): void {
  for (const { handler, answer } of new Map(routes.map((route) => [route.handler, route])).values()) {
    if (!answer) continue;
    const code = Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined;
    const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
    const status = code ?? (method === RequestMethod.POST ? HttpStatus.CREATED : HttpStatus.OK);
    const declared = Reflect.getOwnMetadata(DECORATORS.API_RESPONSE, handler) as Record<string, unknown> | undefined;
    const response = {
      description: answer.array ? 'The tokens.' : ANSWER_DESCRIPTIONS[answer.model],
      type: ROUTE_ANSWER_MODELS[answer.model],
      isArray: answer.array,
    };
    // What the app declared stays as it is.
    defineUntilUndone(undo, DECORATORS.API_RESPONSE, { [status]: response, ...declared }, handler);
  }
}

/** The security requirements of a route: one per combination of scopes that satisfies it, per scheme. */
function securityOf(
  requirements: readonly ScopeRequirement[],
  schemes: readonly string[],
): SecurityRequirementObject[] {
  let alternatives: string[][] = [[]];
  for (const requirement of requirements) {
    const choices = 'allOf' in requirement ? [requirement.allOf] : requirement.anyOf.map((scope) => [scope]);
    alternatives = alternatives.flatMap((scopes) => choices.map((choice) => [...new Set([...scopes, ...choice])]));
  }
  const unique = [...new Map(alternatives.map((scopes) => [[...scopes].sort().join(' '), scopes])).values()];
  return schemes.flatMap((scheme) => unique.map((scopes) => ({ [scheme]: scopes })));
}

function addResponse(operation: OperationObject, status: string, response: ResponseObject): void {
  // An answer the app documented itself stays as it wrote it.
  operation.responses[status] ??= response;
}

/** The rate limit headers on each successful answer of a route that takes a token: a rate-limited token gets them. */
function addSuccessHeaders(operation: OperationObject): void {
  for (const [status, response] of Object.entries(operation.responses)) {
    if (!/^2/.test(status) || !response || '$ref' in response) continue;
    const headers = ((response as ResponseObject).headers ??= {});
    for (const [name, header] of Object.entries(RATE_LIMIT_HEADERS)) headers[name] ??= structuredClone(header);
  }
}

/** The route an operation was built from: by its mark, and, for a handler shared by controllers, by its operation id. */
function routeOf(operation: Record<string, unknown>, routes: readonly RouteAccess[]): RouteAccess | undefined {
  const indices = operation[ROUTE_MARK] as number[] | undefined;
  delete operation[ROUTE_MARK];
  if (!indices) return undefined;
  const candidates = indices.map((index) => routes[index]!);
  const operationId = typeof operation.operationId === 'string' ? operation.operationId : '';
  return candidates.find((route) => operationId.startsWith(`${route.controller.name}_`)) ?? candidates[0];
}

/**
 * `SwaggerModule.createDocument(app, config, options)`, with what the access token module does
 * to each route documented:
 * - a route that needs a token gets the security requirement of each of the document's access
 *   token schemes (`addAccessTokensSecurity`), listing the scopes its `ScopesGuard` requires (one
 *   requirement per way to satisfy `anyOf`), a sentence in its description saying so, and its
 *   answers: 401 (a paused token among them), 403 (`insufficient_scope` where it requires
 *   scopes; `ip_not_allowed` and `uses_exhausted`, a token's usage policy), 400, and 429
 *   (`rate_limited`, `uses_exhausted`, and `too_many_attempts` where it takes a password by
 *   `@AllowPassword()`), each with the module's JSON body and headers (`WWW-Authenticate`,
 *   `Retry-After`, `RateLimit-Policy` and `RateLimit`, which its successful answers document too);
 * - a public route gets no security requirement, and 400 where its input is checked;
 * - body and query DTOs without `@ApiProperty()` are documented from their class-validator rules;
 * - the ready-made routes' successful answers have their JSON body's schema (`AccessTokenView`,
 *   `CreatedToken`, `GeneratedToken`, `TokenPair`…, in `components.schemas`).
 *
 * Whether a route needs a token is asked of the guards Nest runs for it, global (`APP_GUARD`,
 * `useGlobalGuards()`) or `@UseGuards()`: `AccessTokenGuard` and its subclasses,
 * `AccessTokensAuthGuard(...)`, `AuthGuard('access-token')`, then `ScopesGuard`. Nothing is left
 * on the app's classes once the document is built.
 *
 * Asynchronous only to load the ready-made routes' DTOs (class-validator is an optional peer);
 * call it before `app.listen()`, as `SwaggerModule.setup()` must be.
 *
 * @throws InvalidOptionsError when `config` has none of the schemes `addAccessTokensSecurity` adds.
 * @example
 * const config = addAccessTokensSecurity(new DocumentBuilder().setTitle('My API'), app).build();
 * SwaggerModule.setup('docs', app, await createAccessTokensDocument(app, config));
 */
export async function createAccessTokensDocument(
  app: INestApplication,
  config: Omit<OpenAPIObject, 'paths'>,
  options: AccessTokensDocumentOptions = {},
): Promise<OpenAPIObject> {
  const { validationSchemas = true, ...swaggerOptions } = options;
  const defined = config.components?.securitySchemes ?? {};
  const schemes = Object.values(ACCESS_TOKEN_SECURITY_SCHEMES).filter((name) => name in defined);
  if (schemes.length === 0) {
    throw new InvalidOptionsError(
      'The OpenAPI config has no access token security scheme: build it with addAccessTokensSecurity(new DocumentBuilder(), app).build()',
    );
  }
  const { realm } = documentedOptions(app);
  // With teams' tokens, a route refuses the owners it does not take: documented where the app has them.
  const teams = app.get<typeof RESOLVED_OPTIONS, ResolvedAccessTokensOptions>(RESOLVED_OPTIONS, {
    strict: false,
  }).teams;
  const routes = await findRouteAccess(app);
  const undo: (() => void)[] = [];
  let document: OpenAPIObject;
  try {
    markHandlers(routes, undo);
    declareInputTypes(routes, undo);
    declareAnswers(routes, undo);
    if (validationSchemas) describeInputs(routes, undo);
    // Nothing awaits from the first mark to the last undo: no other code ever sees them.
    document = SwaggerModule.createDocument(app, config, swaggerOptions);
  } finally {
    for (const step of undo.reverse()) step();
  }
  let refusals = false;
  let invalidInput = false;
  const pathItems = [...Object.values(document.paths), ...Object.values(document.webhooks ?? {})];
  for (const operation of pathItems.flatMap((item) => HTTP_METHODS.map((method) => item[method]))) {
    if (!operation) continue;
    const route = routeOf(operation as unknown as Record<string, unknown>, routes);
    if (!route) continue;
    const { authentication, requirements, badInput, owners } = route;
    if (authentication) {
      refusals = true;
      invalidInput ||= badInput;
      operation.security = [...(operation.security ?? []), ...securityOf(requirements, schemes)];
      const sentence = accessSentence(authentication, requirements);
      operation.description = operation.description ? `${operation.description}\n\n${sentence}` : sentence;
      addSuccessHeaders(operation);
      addResponse(operation, '401', unauthorizedResponse(authentication, realm));
      // A token's usage policy can refuse on any route a token reaches: 403 by address or uses, 429 by rate.
      const refused = teams ? { team: !owners.team, user: !owners.user } : undefined;
      addResponse(operation, '403', forbiddenResponse(requirements, realm, refused));
      addResponse(operation, '400', badRequestResponse(true, badInput, realm));
      addResponse(operation, '429', tooManyRequestsResponse(authentication, realm));
    } else {
      // A requirement for the whole document would otherwise apply to the public route too.
      if ((document.security?.length ?? 0) > 0) operation.security ??= [];
      if (badInput) {
        invalidInput = true;
        addResponse(operation, '400', badRequestResponse(false, true, realm));
      }
    }
  }
  const schemas = ((document.components ??= {}).schemas ??= {});
  // Copies: a document is the app's to change, and another document must not see it.
  if (refusals) schemas[ACCESS_TOKENS_REFUSAL_SCHEMA] ??= structuredClone(REFUSAL_SCHEMA);
  if (invalidInput) schemas[INVALID_INPUT_SCHEMA] ??= structuredClone(INVALID_INPUT_SCHEMA_OBJECT);
  return document;
}
