import type { ApiPropertyOptions } from '@nestjs/swagger';

/**
 * OpenAPI properties of a class read off its class-validator decorators, for DTOs that carry no
 * `@ApiProperty()`: the library's own, which cannot import `@nestjs/swagger`, and an app's.
 *
 * class-validator keeps its metadata in one global store (`getMetadataStorage()` returns
 * `globalThis.classValidatorMetadataStorage`, so that every copy of the package shares it): read
 * there, it needs no import of class-validator, which an app without DTOs does not have.
 */

/** A class, as a DTO is. */
export type Class = abstract new (...args: never[]) => unknown;

/** The parts of class-validator's `ValidationMetadata` read here. */
interface ValidationMetadataLike {
  readonly type: string;
  readonly name?: string;
  readonly propertyName: string;
  readonly constraints?: readonly unknown[];
  readonly each?: boolean;
}

interface ValidationStorageLike {
  getTargetValidationMetadatas(
    target: Class,
    schema: string,
    always: boolean,
    strictGroups: boolean,
    groups?: string[],
  ): ValidationMetadataLike[];
}

function validationStorage(): ValidationStorageLike | undefined {
  const storage = (globalThis as { classValidatorMetadataStorage?: Partial<ValidationStorageLike> })
    .classValidatorMetadataStorage;
  return typeof storage?.getTargetValidationMetadatas === 'function' ? (storage as ValidationStorageLike) : undefined;
}

/** The validations class-validator runs on instances of `type`, its parents' included. */
function validationsOf(type: Class): ValidationMetadataLike[] {
  // No groups: what a ValidationPipe without `groups` checks.
  return validationStorage()?.getTargetValidationMetadatas(type, '', false, false) ?? [];
}

/** Whether class-validator knows rules for `type`. */
export function hasValidationRules(type: Class): boolean {
  return validationsOf(type).length > 0;
}

/** What one value (the property, or each of its items) is, as far as its validators tell. */
interface Facets {
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';
  /** A class with validation rules of its own: a nested DTO. */
  model?: Class;
  format?: string;
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
}

/** Validators (by class-validator's names) of strings in an OpenAPI format. */
const FORMATS: Readonly<Record<string, string>> = {
  isEmail: 'email',
  isUrl: 'uri',
  isUuid: 'uuid',
  isDateString: 'date-time',
  isDate: 'date-time',
  isFqdn: 'hostname',
};

/** Validators of strings of some other kind; `isText` is this library's own (printable text). */
const STRING_VALIDATORS = new Set([
  'isString',
  'isText',
  'isNumberString',
  'isBooleanString',
  'isDecimal',
  'isJwt',
  'isJson',
  'isHexadecimal',
  'isAlpha',
  'isAlphanumeric',
  'isAscii',
  'isLowercase',
  'isUppercase',
  'isMongoId',
  'isSemVer',
  'isHexColor',
  'isIp',
  'isMimeType',
  'isLocale',
  'isTimeZone',
  'isPhoneNumber',
  'isMobilePhone',
  'isPostalCode',
  'isCurrency',
  'isHash',
  'isMilitaryTime',
  'isStrongPassword',
]);

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Applies one built-in validator's meaning to `facets`; validators it does not know tell nothing. */
function applyValidator(facets: Facets, name: string, constraints: readonly unknown[]): void {
  const [first, second] = constraints;
  if (STRING_VALIDATORS.has(name)) facets.type ??= 'string';
  else if (name in FORMATS) {
    facets.type = 'string';
    facets.format = FORMATS[name];
  } else if (name === 'isInt') facets.type = 'integer';
  else if (name === 'isNumber' || name === 'isDivisibleBy')
    facets.type = facets.type === 'integer' ? 'integer' : 'number';
  else if (name === 'isBoolean') facets.type = 'boolean';
  else if (name === 'isObject') facets.type = 'object';
  else if (name === 'isIn' && Array.isArray(first)) facets.enum = [...(first as unknown[])];
  else if (name === 'isEnum' && typeof first === 'object' && first !== null) facets.enum = enumValues(first);
  else if (name === 'matches') {
    if (first instanceof RegExp) facets.pattern = first.source;
    else if (typeof first === 'string') facets.pattern = first;
  } else if (name === 'isLength') {
    if (isNumber(first)) facets.minLength = first;
    if (isNumber(second)) facets.maxLength = second;
  } else if (name === 'minLength' && isNumber(first)) facets.minLength = first;
  else if (name === 'maxLength' && isNumber(first)) facets.maxLength = first;
  else if (name === 'isNotEmpty') facets.minLength ??= 1;
  else if (name === 'min' && isNumber(first)) facets.minimum = first;
  else if (name === 'max' && isNumber(first)) facets.maximum = first;
}

/** The values of a TypeScript enum object: a numeric enum's reverse mappings left out. */
function enumValues(entity: object): unknown[] {
  const values = Object.entries(entity)
    .filter(([key]) => !/^\d+$/.test(key))
    .map(([, value]) => value as unknown);
  return [...new Set(values)];
}

/** What TypeScript's emitted `design:type` says of a property. */
function designFacets(design: unknown): Facets {
  if (design === String) return { type: 'string' };
  if (design === Number) return { type: 'number' };
  if (design === Boolean) return { type: 'boolean' };
  if (design === Date) return { type: 'string', format: 'date-time' };
  if (design === Array) return { type: 'array' };
  if (typeof design === 'function' && design !== Object && hasValidationRules(design as Class))
    return { model: design as Class };
  return {};
}

/** Facets without the `undefined` ones, `minLength` and friends kept only where they mean something. */
function toSchema(facets: Facets): Record<string, unknown> {
  const { type, model, format, enum: values, pattern, minLength, maxLength, minimum, maximum } = facets;
  if (model) return { type: model };
  const numeric = type === 'number' || type === 'integer';
  const textual = type === 'string' || (type === undefined && values === undefined);
  const schema: Record<string, unknown> = {
    // The values say more than TypeScript: a numeric enum is declared a Number.
    type: (values && enumType(values)) ?? type,
    format,
    enum: values,
    pattern: textual ? pattern : undefined,
    minLength: textual ? minLength : undefined,
    maxLength: textual ? maxLength : undefined,
    minimum: numeric ? minimum : undefined,
    maximum: numeric ? maximum : undefined,
    // An object without a DTO of its own (`@IsObject()` alone): any properties.
    additionalProperties: type === 'object' ? true : undefined,
  };
  return Object.fromEntries(Object.entries(schema).filter(([, value]) => value !== undefined));
}

function enumType(values: readonly unknown[]): Facets['type'] {
  if (values.every((value) => typeof value === 'string')) return 'string';
  if (values.every((value) => Number.isInteger(value))) return 'integer';
  if (values.every((value) => typeof value === 'number')) return 'number';
  return undefined;
}

/** One property as documented, and the nested DTO classes it refers to. */
export interface DescribedProperty {
  readonly options: ApiPropertyOptions;
  readonly models: readonly Class[];
}

/**
 * The `@ApiProperty()` options each validated property of `type` would carry: its type (from the
 * validators, else TypeScript's `design:type`), whether it is required (not `@IsOptional()` nor
 * `@ValidateIf()`), and the facets the validators enforce (lengths, bounds, pattern, enum, format,
 * array sizes, and the same for each item of an array validated with `{ each: true }`).
 *
 * @param options.nullable whether `@IsOptional()` properties are documented as nullable, as they
 *   are in a JSON body (`@IsOptional()` lets `null` through); a query string has no `null`.
 */
export function describeValidatedProperties(
  type: Class,
  options: { nullable: boolean },
): Map<string, DescribedProperty> {
  const byProperty = new Map<string, ValidationMetadataLike[]>();
  for (const validation of validationsOf(type)) {
    byProperty.set(validation.propertyName, [...(byProperty.get(validation.propertyName) ?? []), validation]);
  }
  const described = new Map<string, DescribedProperty>();
  for (const [property, validations] of byProperty) {
    const design: unknown = Reflect.getMetadata('design:type', type.prototype as object, property);
    const value: Facets = {};
    const item: Facets = {};
    let required = true;
    let nullable = false;
    let array = design === Array;
    let minItems: number | undefined;
    let maxItems: number | undefined;
    for (const { type: kind, name, constraints = [], each } of validations) {
      if (kind === 'conditionalValidation') {
        required = false;
        if (name === 'isOptional') nullable = options.nullable;
      } else if (kind === 'isDefined') {
        required = true;
      } else if (name === 'isArray') array = true;
      else if (name === 'arrayMinSize' && isNumber(constraints[0])) minItems = constraints[0];
      else if (name === 'arrayMaxSize' && isNumber(constraints[0])) maxItems = constraints[0];
      else if (name === 'arrayNotEmpty') minItems ??= 1;
      else if (name !== undefined) {
        if (each) array = true;
        applyValidator(each ? item : value, name, constraints);
      }
    }
    const designed = designFacets(design);
    let schema: Record<string, unknown>;
    if (array) {
      schema = { type: 'array', items: toSchema(item), minItems, maxItems };
    } else {
      // The validators say more than the declared type: `number | null` is emitted as Object.
      schema = toSchema({ ...(designed.type === 'array' ? {} : designed), ...value });
    }
    const models = designed.model && !array ? [designed.model] : [];
    described.set(property, {
      options: Object.fromEntries(
        Object.entries({ ...schema, required, nullable: nullable || undefined }).filter(
          ([, entry]) => entry !== undefined,
        ),
      ) as ApiPropertyOptions,
      models,
    });
  }
  return described;
}
