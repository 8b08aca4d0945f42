import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsEmail,
  IsEnum,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { RateLimitDto, UpdateTokenDto } from '../routes/access-tokens-routes.dto.js';
import { describeValidatedProperties, hasValidationRules } from './validation-schemas.js';

enum Plan {
  Free = 'free',
  Pro = 'pro',
}

enum Level {
  Low = 1,
  High = 2,
}

/** A rule class-validator does not know, as an app writes its own. */
const IsSlug = (): PropertyDecorator =>
  ValidateBy({
    name: 'isSlug',
    validator: { validate: (value: unknown) => typeof value === 'string' && /^[a-z-]+$/.test(value) },
  });

class AddressDto {
  @IsString()
  city!: string;
}

class SignupDto {
  @IsEmail()
  email!: string;

  @IsString()
  @Length(3, 20)
  @Matches(/^[a-z]+$/)
  login!: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10)
  seats?: number | null;

  @ValidateIf((_object: object, value: unknown) => value !== undefined)
  @IsBoolean()
  newsletter?: boolean;

  @IsIn(['monthly', 'yearly'])
  billing!: 'monthly' | 'yearly';

  @IsEnum(Plan)
  plan!: Plan;

  @IsEnum(Level)
  level!: Level;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(5)
  @MaxLength(30, { each: true })
  @IsString({ each: true })
  tags!: string[];

  @IsUUID()
  referrer!: string;

  @IsSlug()
  slug!: string;

  @IsDefined()
  @ValidateNested()
  address!: AddressDto;
}

class TeamSignupDto extends SignupDto {
  @IsString()
  team!: string;
}

class Undecorated {
  name!: string;
}

describe('OpenAPI properties from class-validator rules', () => {
  const properties = describeValidatedProperties(SignupDto, { nullable: true });
  const options = (name: string) => properties.get(name)?.options;

  it('knows which classes have rules', () => {
    expect(hasValidationRules(SignupDto)).toBe(true);
    expect(hasValidationRules(Undecorated)).toBe(false);
  });

  it('gives each validated property its type, format and facets', () => {
    expect(options('email')).toEqual({ type: 'string', format: 'email', required: true });
    expect(options('login')).toEqual({
      type: 'string',
      minLength: 3,
      maxLength: 20,
      pattern: '^[a-z]+$',
      required: true,
    });
    expect(options('referrer')).toEqual({ type: 'string', format: 'uuid', required: true });
    expect(options('billing')).toEqual({ type: 'string', enum: ['monthly', 'yearly'], required: true });
    expect(options('plan')).toEqual({ type: 'string', enum: ['free', 'pro'], required: true });
    // A numeric enum's reverse mapping (1 → 'Low') is no value.
    expect(options('level')).toEqual({ type: 'integer', enum: [1, 2], required: true });
  });

  it('tells optional from required, and nullable where null passes', () => {
    expect(options('seats')).toEqual({ type: 'integer', minimum: 1, maximum: 10, required: false, nullable: true });
    // ValidateIf(value !== undefined) refuses null: optional, not nullable.
    expect(options('newsletter')).toEqual({ type: 'boolean', required: false });
    expect(describeValidatedProperties(SignupDto, { nullable: false }).get('seats')?.options).not.toHaveProperty(
      'nullable',
    );
  });

  it('describes arrays, their sizes and each item', () => {
    expect(options('tags')).toEqual({
      type: 'array',
      items: { type: 'string', maxLength: 30 },
      minItems: 1,
      maxItems: 5,
      required: true,
    });
  });

  it("falls back on TypeScript's declared type for rules it does not know", () => {
    expect(options('slug')).toEqual({ type: 'string', required: true });
  });

  it('refers to nested DTOs, for them to be described too', () => {
    expect(properties.get('address')).toEqual({ options: { type: AddressDto, required: true }, models: [AddressDto] });
  });

  it("includes a parent's properties, the child's own rules first", () => {
    const team = describeValidatedProperties(TeamSignupDto, { nullable: true });
    expect([...team.keys()].sort()).toEqual([...properties.keys(), 'team'].sort());
    expect(team.get('team')?.options).toEqual({ type: 'string', required: true });
  });
});

describe("the ready-made routes' usage policy, as documented", () => {
  const update = describeValidatedProperties(UpdateTokenDto, { nullable: true });
  const options = (name: string) => update.get(name)?.options;

  it('refers to the nested rate limit, which may be null, for it to be described too', () => {
    expect(update.get('rateLimit')).toEqual({
      options: { type: RateLimitDto, required: false, nullable: true },
      models: [RateLimitDto],
    });
    const rateLimit = describeValidatedProperties(RateLimitDto, { nullable: true });
    expect(rateLimit.get('limit')?.options).toEqual({
      type: 'integer',
      minimum: 1,
      maximum: 1_000_000_000,
      required: true,
    });
    expect(rateLimit.get('window')?.options).toEqual({
      type: 'integer',
      minimum: 1,
      maximum: 31_536_000,
      required: true,
    });
  });

  it('documents the quota and addresses as nullable, and enabled as a boolean that null does not pass', () => {
    expect(options('maxUses')).toEqual({
      type: 'integer',
      minimum: 1,
      maximum: 2_147_483_647,
      required: false,
      nullable: true,
    });
    expect(options('usesPeriod')).toEqual({
      type: 'integer',
      minimum: 1,
      maximum: 31_536_000,
      required: false,
      nullable: true,
    });
    expect(options('allowedIps')).toEqual({
      type: 'array',
      items: { type: 'string', maxLength: 64 },
      minItems: 1,
      maxItems: 100,
      required: false,
      nullable: true,
    });
    expect(options('enabled')).toEqual({ type: 'boolean', required: false });
  });
});
