import { Body, ValidationPipe } from '@nestjs/common';
import { ValidateBy, ValidateIf, type ValidationArguments, type ValidationOptions } from 'class-validator';

/** The validation of request bodies: a field the DTO does not declare is refused too. */
export const bodyValidation = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });

/**
 * `@Body()`, validated against its DTO class; a field the DTO does not declare is refused (400).
 *
 * Per body rather than a global pipe: a global pipe also runs on every other parameter, such as
 * `@CurrentUser()` on `GET /users/me`, and costs that route as much as verifying its token does
 * (measured: the same extra allocation per request).
 */
export const ValidBody = (): ParameterDecorator => Body(bodyValidation);

/**
 * What no database stores as it is: control characters (NUL above all, which PostgreSQL refuses
 * in any text) and lone UTF-16 surrogates (which have no UTF-8 form, and which bcrypt refuses).
 */
const UNSTORABLE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string with nothing a database or bcrypt would fail on; anything else is a 400. */
export const IsText = (options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    {
      name: 'isText',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && !UNSTORABLE.test(value),
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property ?? 'value'} must be text without control characters or lone surrogates`,
      },
    },
    options,
  );

/** Like `@IsOptional()`, but `null` is validated (and refused) rather than let through. */
export const IsAbsentOr = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);

/**
 * A string of at most `bytes` bytes in UTF-8. Not class-validator's `@IsByteLength()`, which
 * throws (a 500) on a lone surrogate instead of refusing it.
 */
export const MaxBytes = (bytes: number, options?: ValidationOptions): PropertyDecorator =>
  ValidateBy(
    {
      name: 'maxBytes',
      constraints: [bytes],
      validator: {
        validate: (value: unknown) => typeof value === 'string' && Buffer.byteLength(value) <= bytes,
        defaultMessage: (args?: ValidationArguments) => `${args?.property ?? 'value'} must be at most ${bytes} bytes`,
      },
    },
    options,
  );
