import { describe, expect, it } from '@jest/globals';
import { BadRequestException, type Type } from '@nestjs/common';
import fc from 'fast-check';
import {
  CreateTokenDto,
  GenerateTokenDto,
  UpdateTokenDto,
  RevokeTokenDto,
  RotateTokenDto,
} from 'nestjs-access-tokens/routes';
import { LoginDto, RefreshDto } from './auth/auth.dto.js';
import { CreateUserDto, UpdateMeDto } from './users/users.dto.js';
import { bodyValidation } from './validation.js';

const DTOS: Type<object>[] = [
  LoginDto,
  RefreshDto,
  GenerateTokenDto,
  CreateTokenDto,
  UpdateTokenDto,
  RotateTokenDto,
  RevokeTokenDto,
  CreateUserDto,
  UpdateMeDto,
];

/** Any UTF-16 code unit, lone surrogates included (fast-check's own units leave those out). */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
/** Text of every kind: control characters, lone surrogates, astral characters. */
const text = fc.oneof(
  { arbitrary: fc.string({ unit: codeUnit, maxLength: 80 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 80 }), weight: 1 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }), weight: 1 },
);
/** A JSON body: often with the DTOs' own field names, holding anything JSON can. */
const field = fc.constantFrom(
  'username',
  'password',
  'currentPassword',
  'refreshToken',
  'name',
  'scopes',
  'expiresIn',
  'graceSeconds',
  'token',
  // A token's usage policy, and the parts of its nested rate limit.
  'rateLimit',
  'limit',
  'window',
  'maxUses',
  'usesPeriod',
  'allowedIps',
  'enabled',
  'extra',
);
const value = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    // Nested objects with the DTOs' field names too: `rateLimit: { limit, window }` and the like.
    fc.dictionary(fc.oneof(field, text), tie('value'), { maxKeys: 4 }),
  ),
})).value;
const body = fc.oneof(
  {
    arbitrary: fc.dictionary(field, fc.oneof({ arbitrary: text, weight: 3 }, { arbitrary: value, weight: 1 }), {
      maxKeys: 5,
    }),
    weight: 4,
  },
  { arbitrary: value, weight: 1 },
);

describe('request bodies (property-based)', () => {
  it.each(DTOS.map((dto) => [dto.name, dto] as const))(
    '%s: any JSON body is accepted or refused with a 400, never anything else',
    async (_name, dto) => {
      await fc.assert(
        fc.asyncProperty(body, async (input) => {
          try {
            await bodyValidation.transform(input, { type: 'body', metatype: dto });
          } catch (error) {
            expect(error).toBeInstanceOf(BadRequestException);
          }
        }),
        { numRuns: 2000 },
      );
    },
  );
});
