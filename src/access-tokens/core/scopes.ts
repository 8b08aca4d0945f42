import { InvalidScopeError } from './access-tokens.errors.js';

/**
 * Scope matching, with no Nest or TypeORM in it.
 *
 * A scope is `*` or `:`-separated words (`users:read`, `billing:invoices:write`); its last word may
 * be `*`, which covers every scope that starts with the words before it (`users:*` covers
 * `users:read` and `users:admin:ban`, not `users`). The same rule compares a granted pattern with a
 * required scope and one pattern with another.
 */

const SCOPE_PATTERN = /^(?:\*|[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)*(?::\*)?)$/;
const MAX_SCOPE_LENGTH = 128;

/** What a route requires: every listed scope, or at least one of them. */
export type ScopeRequirement = { readonly allOf: readonly string[] } | { readonly anyOf: readonly string[] };

/** Whether `scope` is well-formed. */
export function isValidScope(scope: unknown): scope is string {
  return typeof scope === 'string' && scope.length <= MAX_SCOPE_LENGTH && SCOPE_PATTERN.test(scope);
}

/** Returns `scopes` without duplicates, or throws `InvalidScopeError` naming the bad ones. */
export function validateScopes(scopes: readonly unknown[], what = 'scope'): string[] {
  const bad = scopes.filter((scope) => !isValidScope(scope));
  if (bad.length > 0) {
    throw new InvalidScopeError(
      `Invalid ${what} ${bad.map((s) => JSON.stringify(s)).join(', ')}: use "*" or words of letters, digits, "_", "." and "-" separated by ":", optionally ending in ":*"`,
    );
  }
  return [...new Set(scopes as string[])];
}

/** Whether the pattern `granted` covers `wanted` (a scope, or a pattern in its own right). */
export function covers(granted: string, wanted: string): boolean {
  return granted === '*' || granted === wanted || (granted.endsWith(':*') && wanted.startsWith(granted.slice(0, -1)));
}

/** Whether any of `granted` covers `wanted`. */
export function grants(granted: readonly string[], wanted: string): boolean {
  return granted.some((pattern) => covers(pattern, wanted));
}

/** The scopes of `wanted` that none of `granted` covers. */
export function uncovered(granted: readonly string[], wanted: readonly string[]): string[] {
  return wanted.filter((scope) => !grants(granted, scope));
}

/**
 * The scopes of `wanted` that would grant nothing within `granted`: neither covered by one of them
 * nor covering one. A token's scopes are intersected with its user's permissions at each request,
 * so `acc:*` for a user who may `acc:read` grants `acc:read`, and is not beyond the user.
 */
export function disjoint(granted: readonly string[], wanted: readonly string[]): string[] {
  return wanted.filter((scope) => !granted.some((pattern) => covers(pattern, scope) || covers(scope, pattern)));
}

/**
 * The patterns that cover exactly what both `a` and `b` cover. Because a pattern is a prefix
 * wildcard, two patterns overlap only if one covers the other, and the overlap is the narrower one.
 */
export function intersectScopes(a: readonly string[], b: readonly string[]): string[] {
  const overlap = new Set<string>();
  for (const x of a) {
    for (const y of b) {
      if (covers(x, y)) overlap.add(y);
      else if (covers(y, x)) overlap.add(x);
    }
  }
  const all = [...overlap];
  return all.filter((scope) => !all.some((other) => other !== scope && covers(other, scope)));
}

/** Whether `granted` satisfies `requirement`. */
export function satisfies(granted: readonly string[], requirement: ScopeRequirement): boolean {
  return 'allOf' in requirement
    ? requirement.allOf.every((scope) => grants(granted, scope))
    : requirement.anyOf.some((scope) => grants(granted, scope));
}

/**
 * The scopes of `own` (a token's own scopes) that granted `requirement`, given the effective
 * scopes `granted` (its own within its user's permissions) satisfied it: for each required scope
 * that `granted` covers (for `anyOf`, each one covered), the narrowest of `own` that covers it.
 * `users:*` and `users:read` both cover `users:read`: `users:read` is the one exercised, which
 * leaves `users:*` unused while nothing else needs it. Two patterns that cover one scope are nested,
 * so the narrowest is the longest.
 */
export function exercisedScopes(
  own: readonly string[],
  granted: readonly string[],
  requirement: ScopeRequirement,
): string[] {
  const exercised: string[] = [];
  for (const wanted of 'allOf' in requirement ? requirement.allOf : requirement.anyOf) {
    if (!grants(granted, wanted)) continue;
    let narrowest: string | undefined;
    for (const pattern of own) {
      if (covers(pattern, wanted) && (narrowest === undefined || pattern.length > narrowest.length))
        narrowest = pattern;
    }
    if (narrowest !== undefined && !exercised.includes(narrowest)) exercised.push(narrowest);
  }
  return exercised;
}

/**
 * The scopes of `scopes` not exercised since `since` (epoch ms) by `usedAt` (when each last was,
 * epoch ms), in their order: the least-privilege hints.
 */
export function unusedScopes(
  scopes: readonly string[],
  usedAt: Readonly<Record<string, number>>,
  since: number,
): string[] {
  return scopes.filter((scope) => !(Object.hasOwn(usedAt, scope) && usedAt[scope]! >= since));
}
