import {
  ValidationPipe,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  type PipeTransform,
  type Type,
} from '@nestjs/common';
import { GUARDS_METADATA, PATH_METADATA, PIPES_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants.js';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum.js';
import { MetadataScanner, Reflector, type NestContainer } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ACCESS_TOKEN_STRATEGY } from '../access-tokens.constants.js';
import {
  SCOPES_METADATA,
  PUBLIC_ROUTE_METADATA,
  PASSWORD_GRANT_METADATA,
  ROUTE_ANSWER_METADATA,
} from '../access-tokens.internal-constants.js';
import type { ScopeRequirement } from '../core/scopes.js';
import { AccessTokenAuthenticator } from '../edge/access-token.authenticator.js';
import { AccessTokenGuard } from '../edge/access-token.guard.js';
import { ScopesGuard } from '../edge/scopes.guard.js';
import { routeOwners, type Accepted } from '../edge/token-owners.decorator.js';
import type { RouteAnswer } from '../routes/route-answer.decorator.js';
import { RoutesValidationPipe } from '../routes/routes-validation.pipe.js';
import { hasValidationRules, type Class } from './validation-schemas.js';

/**
 * What the module asks of each route of an app, found as Nest finds it when a request comes: the
 * guards that run (global ones, `APP_GUARD` or `useGlobalGuards()`, then the controller's and the
 * handler's `@UseGuards()`), asked themselves through the steps a subclass may override
 * (`isPublic`, `getRequirements`), so that the documentation says what the guards do.
 */

/** A route handler: a method of a controller. */
export type Handler = (...args: never[]) => unknown;

/** How a route that needs a token authenticates. */
export interface RouteAuthentication {
  /** The schemes a 401 without credentials offers. */
  readonly challengeSchemes: readonly ('Bearer' | 'Basic')[];
  /** Whether HTTP Basic user name and password are accepted besides a token. */
  readonly password: boolean;
  /** Whether the module's password grant checks them (`@AllowPassword()`), throttled: answers can be 429. */
  readonly passwordGrant: boolean;
}

/** One handler of one controller. */
export interface RouteAccess {
  readonly controller: Type;
  readonly handler: Handler;
  readonly methodName: string;
  /** `null` for a route open without a token (`@Public()`, or no guard of the module). */
  readonly authentication: RouteAuthentication | null;
  /** The `@Scopes()` requirements the route's `ScopesGuard` checks, every one of which must hold. */
  readonly requirements: readonly ScopeRequirement[];
  /** Whose tokens it takes (`@TokenOwners()`): users' only, by default. */
  readonly owners: Accepted;
  /** Whether the route can answer 400 for its input: it takes a body, or pipes check its parameters. */
  readonly badInput: boolean;
  /** The DTO classes of the whole body and query, with where each is read. */
  readonly inputs: readonly RouteInput[];
  /** The shape of its successful answer, for a ready-made route (`@Answers()`); `null` for the app's own. */
  readonly answer: RouteAnswer | null;
}

/** A handler's parameter that takes the whole body or query, validated against a class. */
export interface RouteInput {
  /** The parameter's position. */
  readonly index: number;
  readonly in: 'body' | 'query';
  /** The class its input is validated against. */
  readonly type: Class;
  /** Whether TypeScript's `design:paramtypes` names another type (`Object`): its pipe knows better. */
  readonly undeclared: boolean;
}

/** The parts of Nest's `ApplicationConfig` read here. */
interface GlobalEnhancers {
  getGlobalGuards(): CanActivate[];
  getGlobalRequestGuards?(): { metatype: unknown }[];
  getGlobalPipes(): PipeTransform[];
  getGlobalRequestPipes?(): unknown[];
}

/** What a route argument's metadata holds (`@Body()`, `@Query()`, `@Param()`...). */
interface RouteArgument {
  readonly index: number;
  readonly data?: unknown;
  readonly pipes?: readonly unknown[];
}

/** The steps of `AccessTokenGuard` and `ScopesGuard` the documentation asks, protected in their classes. */
interface TokenGuardSteps {
  isPublic(context: ExecutionContext): boolean;
  allowsPassword?(context: ExecutionContext): boolean;
  readonly challengeSchemes?: readonly ('Bearer' | 'Basic')[];
  authenticatePassword?: unknown;
}
interface ScopesGuardSteps {
  getRequirements(context: ExecutionContext): ScopeRequirement[];
}

const reflector = new Reflector();

/** An execution context with a route's class and handler, and no request: enough to read its metadata. */
function routeContext(controller: Type, handler: Handler): ExecutionContext {
  const nothing = (): undefined => undefined;
  const host = {
    getRequest: nothing,
    getResponse: nothing,
    getNext: nothing,
    getData: nothing,
    getContext: nothing,
    getClient: nothing,
    getPattern: nothing,
  };
  return {
    getClass: () => controller,
    getHandler: () => handler,
    getArgs: () => [],
    getArgByIndex: nothing,
    getType: () => 'http',
    switchToHttp: () => host,
    switchToRpc: () => host,
    switchToWs: () => host,
  } as unknown as ExecutionContext;
}

/** A guard's instance; for a class Nest builds per request, an instance of it with nothing injected. */
function placeholder(metatype: unknown): object | undefined {
  return typeof metatype === 'function' ? (Object.create(metatype.prototype as object) as object) : undefined;
}

/** Whether the route is `@Public()` by its metadata, as the module's guards read it. */
function publicByMetadata(controller: Type, handler: Handler): boolean {
  return reflector.getAllAndOverride<boolean | undefined>(PUBLIC_ROUTE_METADATA, [handler, controller]) === true;
}

/** The route's `@Scopes()` requirements, as `ScopesGuard` reads them. */
function scopesByMetadata(controller: Type, handler: Handler): ScopeRequirement[] {
  return reflector
    .getAll<(ScopeRequirement[] | undefined)[]>(SCOPES_METADATA, [controller, handler])
    .flatMap((requirements) => requirements ?? []);
}

/**
 * How `guard` treats the route, if it is one of the module's: `AccessTokenGuard` (and subclasses,
 * asked whether the route is public), `AccessTokensAuthGuard(...)` (honours `@Public()`), Passport's
 * `AuthGuard('access-token')` (does not), or `ScopesGuard` (and subclasses, asked for the
 * requirements). A step that needs a request, or an instance Nest builds per request, is read from
 * the metadata instead.
 */
function roleOf(
  guard: unknown,
  controller: Type,
  handler: Handler,
):
  | { kind: 'token'; authentication: RouteAuthentication | null }
  | { kind: 'scopes'; requirements: ScopeRequirement[] }
  | null {
  if (typeof guard !== 'object' || guard === null) return null;
  const context = routeContext(controller, handler);
  if (guard instanceof AccessTokenGuard) {
    const steps = guard as unknown as TokenGuardSteps;
    let open: boolean;
    try {
      open = steps.isPublic(context);
    } catch {
      open = publicByMetadata(controller, handler);
    }
    let granted: boolean;
    try {
      granted = steps.allowsPassword?.(context) ?? false;
    } catch {
      granted =
        reflector.getAllAndOverride<boolean | undefined>(PASSWORD_GRANT_METADATA, [handler, controller]) === true;
    }
    // On other routes, a subclass that overrides authenticatePassword() checks passwords its own way.
    const password =
      granted ||
      steps.authenticatePassword !== (AccessTokenGuard.prototype as unknown as TokenGuardSteps).authenticatePassword;
    const declared = Array.isArray(steps.challengeSchemes) ? steps.challengeSchemes : (['Bearer'] as const);
    const challengeSchemes = granted ? (['Basic', 'Bearer'] as const) : declared;
    return { kind: 'token', authentication: open ? null : { challengeSchemes, password, passwordGrant: granted } };
  }
  if (guard instanceof ScopesGuard) {
    try {
      return { kind: 'scopes', requirements: (guard as unknown as ScopesGuardSteps).getRequirements(context) };
    } catch {
      return { kind: 'scopes', requirements: scopesByMetadata(controller, handler) };
    }
  }
  const mixin = (guard as { authenticator?: unknown }).authenticator instanceof AccessTokenAuthenticator;
  if (mixin || guard instanceof AuthGuard(ACCESS_TOKEN_STRATEGY)) {
    const open = mixin && publicByMetadata(controller, handler);
    return {
      kind: 'token',
      authentication: open ? null : { challengeSchemes: ['Bearer'], password: false, passwordGrant: false },
    };
  }
  return null;
}

/** Classes that say nothing of a parameter's shape. */
const PLAIN_TYPES = new Set<unknown>([Object, String, Number, Boolean, Array, Promise, undefined]);

/** The guards Nest runs for a handler, in order: global, controller, handler. */
function guardsOf(
  controller: Type,
  handler: Handler,
  injectables: ReadonlyMap<unknown, { instance: unknown }>,
  globalGuards: readonly unknown[],
): unknown[] {
  const declared = [
    ...((Reflect.getMetadata(GUARDS_METADATA, controller) as unknown[] | undefined) ?? []),
    ...((Reflect.getMetadata(GUARDS_METADATA, handler) as unknown[] | undefined) ?? []),
  ];
  return [
    ...globalGuards,
    ...declared.map((guard) =>
      typeof guard === 'function' ? (injectables.get(guard)?.instance ?? placeholder(guard)) : guard,
    ),
  ];
}

/** The application's container, which `@nestjs/swagger` reads too: Nest gives no public handle on its global enhancers. */
function containerOf(app: INestApplication): NestContainer {
  return (app as unknown as { container: NestContainer }).container;
}

/** Every route handler of every controller of `app`, with what the module asks of it. */
export async function findRouteAccess(app: INestApplication): Promise<RouteAccess[]> {
  const container = containerOf(app);
  const config = container.applicationConfig as GlobalEnhancers | undefined;
  const globalGuards = [
    ...(config?.getGlobalGuards() ?? []),
    ...(config?.getGlobalRequestGuards?.() ?? []).map((wrapper) => placeholder(wrapper.metatype)),
  ];
  const globalPipes = (config?.getGlobalPipes().length ?? 0) + (config?.getGlobalRequestPipes?.().length ?? 0);
  const scanner = new MetadataScanner();
  const routes: RouteAccess[] = [];
  for (const moduleRef of container.getModules().values()) {
    for (const wrapper of moduleRef.controllers.values()) {
      const controller = wrapper.metatype as Type | null;
      if (typeof controller !== 'function') continue;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const methodName of scanner.getAllMethodNames(prototype)) {
        const method = prototype[methodName];
        if (typeof method !== 'function' || Reflect.getMetadata(PATH_METADATA, method) === undefined) continue;
        const handler = method as Handler;
        let authentication: RouteAuthentication | null = null;
        let scopesChecked = false;
        const requirements: ScopeRequirement[] = [];
        for (const guard of guardsOf(controller, handler, moduleRef.injectables, globalGuards)) {
          const role = roleOf(guard, controller, handler);
          if (role?.kind === 'token') authentication ??= role.authentication;
          if (role?.kind === 'scopes') {
            scopesChecked = true;
            const seen = new Set(requirements.map((requirement) => JSON.stringify(requirement)));
            requirements.push(...role.requirements.filter((requirement) => !seen.has(JSON.stringify(requirement))));
          }
        }
        // ScopesGuard alone refuses a request without a token, whatever guards before it did not check.
        if (scopesChecked && requirements.length > 0)
          authentication ??= { challengeSchemes: ['Bearer'], password: false, passwordGrant: false };
        routes.push({
          controller,
          handler,
          methodName,
          authentication,
          requirements,
          owners: routeOwners(controller, handler),
          answer: (Reflect.getMetadata(ROUTE_ANSWER_METADATA, handler) as RouteAnswer | undefined) ?? null,
          ...(await inputsOf(controller, handler, methodName, globalPipes)),
        });
      }
    }
  }
  return routes;
}

/**
 * The class a parameter's pipe validates against, where the pipe tells: Nest's `ValidationPipe`
 * given an `expectedType`, or the ready-made routes' pipe, by the name of its DTO (their module is
 * loaded when first needed, as the pipe loads it: it imports class-validator, an optional peer).
 */
async function validatedType(pipe: unknown): Promise<Class | undefined> {
  if (pipe instanceof ValidationPipe) {
    const expected = (pipe as unknown as { expectedType?: unknown }).expectedType;
    return typeof expected === 'function' ? (expected as Class) : undefined;
  }
  if (pipe instanceof RoutesValidationPipe) {
    const name = (pipe as unknown as { dto?: unknown }).dto;
    const dtos = (await import('../routes/access-tokens-routes.dto.js').catch(() => undefined)) as
      Record<string, unknown> | undefined;
    const type = typeof name === 'string' ? dtos?.[name] : undefined;
    return typeof type === 'function' ? (type as Class) : undefined;
  }
  return undefined;
}

/** What a handler reads from the request, and whether that input is checked. */
async function inputsOf(
  controller: Type,
  handler: Handler,
  methodName: string,
  globalPipes: number,
): Promise<Pick<RouteAccess, 'badInput' | 'inputs'>> {
  const args =
    (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, methodName) as Record<string, RouteArgument> | undefined) ??
    {};
  const types =
    (Reflect.getMetadata('design:paramtypes', controller.prototype as object, methodName) as unknown[] | undefined) ??
    [];
  const scopedPipes =
    ((Reflect.getMetadata(PIPES_METADATA, controller) as unknown[] | undefined)?.length ?? 0) +
    ((Reflect.getMetadata(PIPES_METADATA, handler) as unknown[] | undefined)?.length ?? 0);
  const inputs: RouteInput[] = [];
  let body = false;
  let checked = false;
  let read = false;
  for (const [key, argument] of Object.entries(args)) {
    // Keys read "<paramtype>:<index>"; a custom decorator's start with its own name.
    const paramtype = Number(key.split(':')[0]);
    if (
      paramtype !== RouteParamtypes.BODY &&
      paramtype !== RouteParamtypes.QUERY &&
      paramtype !== RouteParamtypes.PARAM
    )
      continue;
    read = true;
    if (paramtype === RouteParamtypes.BODY) body = true;
    const pipes = argument.pipes ?? [];
    if (pipes.length > 0) checked = true;
    if (paramtype === RouteParamtypes.PARAM || argument.data !== undefined) continue;
    const declared = types[argument.index];
    let type = typeof declared === 'function' && !PLAIN_TYPES.has(declared) ? (declared as Class) : undefined;
    for (const pipe of pipes) type ??= await validatedType(pipe);
    if (type && hasValidationRules(type)) {
      inputs.push({
        index: argument.index,
        in: paramtype === RouteParamtypes.BODY ? 'body' : 'query',
        type,
        undeclared: type !== declared,
      });
    }
  }
  // A body that does not parse is a 400 whatever checks it after; a pipe answers 400 for what it refuses.
  return { badInput: body || (read && (checked || scopedPipes > 0 || globalPipes > 0)), inputs };
}
