import { Args } from '@nestjs/graphql';
import { bodyValidation } from '../validation.js';

/**
 * `@Args()`, validated against its `@ArgsType()` class as `@ValidBody()` validates a REST body:
 * the same DTO rules (the args classes extend the DTOs), refused with a 400, which the GraphQL
 * answer shows as `BAD_REQUEST`.
 */
export const ValidArgs = (): ParameterDecorator => Args(bodyValidation);
