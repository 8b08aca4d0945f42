import { InvalidScopeError } from '../core/access-tokens.errors.js';
import { SCOPES_METADATA } from '../access-tokens.internal-constants.js';
import { validateScopes, type ScopeRequirement } from '../core/scopes.js';

/**
 * Requires scopes of the route's token, checked by `ScopesGuard`. `@Scopes('a', 'b')` needs all of
 * them; `@Scopes({ anyOf: ['a', 'b'] })` one of them. On a controller and on a handler, both apply;
 * so does each of several `@Scopes` on one target. A malformed scope fails at start-up.
 *
 * @example
 * @Scopes('tokens:read')
 * @Get() list() { ... }
 */
export function Scopes(...scopes: string[]): ClassDecorator & MethodDecorator;
export function Scopes(requirement: { anyOf: string[] } | { allOf: string[] }): ClassDecorator & MethodDecorator;
export function Scopes(
  ...args: (string | { anyOf: string[] } | { allOf: string[] })[]
): ClassDecorator & MethodDecorator {
  const requirement = toRequirement(args);
  return (target: object, _key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder: object = descriptor ? (descriptor.value as object) : target;
    const existing = (Reflect.getMetadata(SCOPES_METADATA, holder) as ScopeRequirement[] | undefined) ?? [];
    Reflect.defineMetadata(SCOPES_METADATA, [...existing, requirement], holder);
  };
}

function toRequirement(args: (string | { anyOf: string[] } | { allOf: string[] })[]): ScopeRequirement {
  const [first] = args;
  const requirement: ScopeRequirement =
    args.length === 1 && typeof first === 'object' && first !== null
      ? 'anyOf' in first
        ? { anyOf: validateScopes(first.anyOf ?? [], 'required scope') }
        : { allOf: validateScopes(first.allOf ?? [], 'required scope') }
      : { allOf: validateScopes(args, 'required scope') };
  const list = 'allOf' in requirement ? requirement.allOf : requirement.anyOf;
  if (list.length === 0) throw new InvalidScopeError('@Scopes() needs at least one scope');
  return requirement;
}
