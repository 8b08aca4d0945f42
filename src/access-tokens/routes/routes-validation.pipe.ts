import { ValidationPipe, type ArgumentMetadata, type PipeTransform, type Provider } from '@nestjs/common';
import { InvalidOptionsError } from '../core/access-tokens.errors.js';
import { checkMetadata } from '../core/metadata.js';

/** The DTO classes of the routes, as their module exports them. */
type RoutesDtos = typeof import('./access-tokens-routes.dto.js');
/** The name of one of them. */
export type RoutesDtoName = {
  [Name in keyof RoutesDtos]: RoutesDtos[Name] extends abstract new () => object ? Name : never;
}[keyof RoutesDtos];

/** The DTO module, loaded on first need: it imports class-validator and class-transformer, optional peers. */
let dtos: Promise<RoutesDtos> | undefined;

function loadDtos(): Promise<RoutesDtos> {
  dtos ??= import('./access-tokens-routes.dto.js').catch((error: unknown) => {
    dtos = undefined;
    const code = (error as { code?: unknown } | null)?.code;
    const missing =
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      /'class-(validator|transformer)'/.test(String(error));
    if (missing) {
      throw new InvalidOptionsError(
        'routes validate their input with "class-validator" and "class-transformer": npm install class-validator class-transformer',
        { cause: error },
      );
    }
    throw error;
  });
  return dtos;
}

/**
 * A route's body or query as `RoutesValidationPipe` hands it over. The DTO classes load only once
 * the routes are used (they need class-validator), so handlers import them as types; a class
 * imported as a type is recorded by `tsc` as `Function` in `design:paramtypes`, which an app's
 * global `ValidationPipe({ whitelist: true })` then "validates" into an empty object, and Swagger
 * documents as a schema named Function. This alias is a mapped type, which `tsc` records as
 * `Object` whatever the DTO: global pipes and Swagger leave the parameter to this pipe.
 */
export type Validated<Dto> = Readonly<Dto>;

/**
 * Validates a route's body or query against its DTO, whatever pipes the app has: a field the DTO
 * does not declare is refused too, and every refusal is a 400 naming the field. The route's
 * parameter is typed for Nest as `Object`, so that an app's global `ValidationPipe` lets it through
 * unchanged and only this one judges it.
 */
export class RoutesValidationPipe implements PipeTransform {
  private pipe: Promise<ValidationPipe> | undefined;

  /** @param dto the DTO class it validates against, by its name in the routes' DTO module. */
  constructor(readonly dto: RoutesDtoName) {}

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    this.pipe ??= loadDtos().then(
      (loaded) =>
        new ValidationPipe({
          whitelist: true,
          forbidNonWhitelisted: true,
          transform: true,
          expectedType: loaded[this.dto],
          // The copies the DTOs were declared with, should the app hold others.
          validatorPackage: loaded.validatorPackage,
          transformerPackage: loaded.transformerPackage,
        }),
    );
    const pipe = await this.pipe;
    // Token metadata is checked by the module before class-transformer copies the body: its copy
    // recurses without a bound (a body of 10,000 nested arrays would overflow the stack) and
    // assigns a `__proto__` key rather than keeping it. The checked copy goes in its place.
    const given: unknown =
      metadata.type === 'body' && WITH_METADATA.has(this.dto) && isRecord(value)
        ? Object.getOwnPropertyDescriptor(value, 'metadata')?.value
        : undefined;
    if (given === undefined || given === null) return pipe.transform(value, metadata);
    const checked = checkMetadata(given);
    const validated = (await pipe.transform({ ...(value as object), metadata: {} }, metadata)) as Record<
      string,
      unknown
    >;
    validated.metadata = checked;
    return validated;
  }
}

/** The bodies that take token metadata. */
const WITH_METADATA: ReadonlySet<RoutesDtoName> = new Set(['GenerateTokenDto', 'CreateTokenDto', 'UpdateTokenDto']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Loads the routes' DTOs while Nest creates the app, from a provider's factory: a missing
 * class-validator or class-transformer stops the app in Nest's own start-up error log
 * (`[ExceptionHandler]`, exit code 1), naming the packages to install.
 */
export const routesDependenciesProvider: Provider = {
  provide: Symbol('access-tokens:routes-dtos'),
  // Not the DTO module itself: a module namespace has no constructor, which explorers of the
  // app's providers (@nestjs/graphql's) read.
  useFactory: async () => Boolean(await loadDtos()),
};
