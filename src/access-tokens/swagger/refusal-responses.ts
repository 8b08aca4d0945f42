import type { ExampleObject, HeaderObject, ResponseObject, SchemaObject } from '@nestjs/swagger';
import { covers, type ScopeRequirement } from '../core/scopes.js';
import {
  InvalidTokenError,
  InsufficientScopeError,
  InvalidCredentialsError,
  InvalidRequestError,
  MissingCredentialsError,
  TokenPolicyError,
  TokenOwnerError,
  TooManyAttemptsError,
  type AccessTokensError,
} from '../core/access-tokens.errors.js';
import { REVOKED_BY_USER } from '../access-tokens.constants.js';
import { toHttpAnswer } from '../edge/rfc6750.js';
import { ACCESS_TOKENS_REFUSAL_SCHEMA, INVALID_INPUT_SCHEMA } from './openapi.constants.js';
import type { RouteAuthentication } from './route-access.js';

/**
 * The answers the module gives a route, as OpenAPI responses. Their examples are what the module
 * sends: built by the same code (`toHttpAnswer`) from the errors it refuses with.
 */

/** The JSON body of every refusal: `AccessTokensHttpException`'s, whatever filter answers it. */
export const REFUSAL_SCHEMA: SchemaObject = {
  type: 'object',
  description:
    "A refusal by the access token module. `error` is RFC 6750's error code, also in the `WWW-Authenticate` challenge (`unauthorized` when no credentials came); `reason` says why for a program, `message` for a human.",
  required: ['statusCode', 'error', 'reason', 'message'],
  properties: {
    statusCode: { type: 'integer', description: 'The HTTP status, again.', example: 401 },
    error: {
      type: 'string',
      description:
        "401: `unauthorized` (no credentials), `invalid_token`, `invalid_credentials` (a wrong user name or password); 403: `insufficient_scope`, `ip_not_allowed` (not from the token's allowed addresses), `uses_exhausted` (no uses left); 400: `invalid_request`; 429: `too_many_attempts`, `rate_limited` (over the token's rate limit), `uses_exhausted` (until its uses are restored).",
      example: 'invalid_token',
    },
    reason: {
      type: 'string',
      description:
        "Why: `credentials_missing`; for `invalid_token`, `malformed`, `unknown`, `expired`, `revoked`, `user_blocked` (a team's token: `blocked`) or `paused` (its owner paused it); otherwise the same as `error`.",
      example: 'expired',
    },
    message: { type: 'string', description: 'Why, in a sentence.', example: 'The access token expired' },
    revokedReason: {
      type: 'string',
      description:
        'For a `revoked` token: what revoked it (`revoked_by_user`, `revoked_by_secret`, `password_changed`, `blocked`, `rotated`…).',
      example: REVOKED_BY_USER,
    },
  },
};

/** Nest's answer to input a pipe refuses (`BadRequestException`): `ValidationPipe` lists each failed rule. */
export const INVALID_INPUT_SCHEMA_OBJECT: SchemaObject = {
  type: 'object',
  description: 'Input refused before the handler ran: a body that does not parse, or a parameter a pipe refuses.',
  required: ['statusCode', 'message'],
  properties: {
    statusCode: { type: 'integer', example: 400 },
    message: {
      description: 'What is wrong: one message per failed rule (ValidationPipe), or one sentence.',
      oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
      example: ['name must be longer than or equal to 1 characters'],
    },
    error: { type: 'string', example: 'Bad Request' },
  },
};

const refusalRef = { $ref: `#/components/schemas/${ACCESS_TOKENS_REFUSAL_SCHEMA}` };
const invalidInputRef = { $ref: `#/components/schemas/${INVALID_INPUT_SCHEMA}` };

/** An example answer to `error`: its body, and its challenge for the `WWW-Authenticate` header. */
function answerTo(
  error: AccessTokensError,
  realm: string,
  summary: string,
): { example: ExampleObject; challenge: string | null } {
  const answer = toHttpAnswer(error, realm);
  return { example: { summary, value: answer.body }, challenge: answer.challenge };
}

function challengeHeader(description: string, example: string | null): Record<string, HeaderObject> {
  return { 'WWW-Authenticate': { description, schema: { type: 'string' }, ...(example === null ? {} : { example }) } };
}

/** The 401 of a route that needs a token. */
export function unauthorizedResponse(authentication: RouteAuthentication, realm: string): ResponseObject {
  const missing = answerTo(new MissingCredentialsError(authentication.challengeSchemes), realm, 'No credentials');
  const examples: Record<string, ExampleObject> = {
    credentials_missing: missing.example,
    malformed: answerTo(new InvalidTokenError('malformed'), realm, 'Not a token of this app').example,
    expired: answerTo(new InvalidTokenError('expired'), realm, 'An expired token').example,
    revoked: answerTo(new InvalidTokenError('revoked', REVOKED_BY_USER), realm, 'A revoked token').example,
    paused: answerTo(new InvalidTokenError('paused'), realm, 'A paused token').example,
  };
  if (authentication.password) {
    examples.invalid_credentials = answerTo(
      new InvalidCredentialsError(),
      realm,
      'A wrong user name or password',
    ).example;
  }
  return {
    description:
      'No credentials, or a token that cannot be used (`invalid_token`: malformed, unknown, expired, revoked, paused, or its user blocked)' +
      (authentication.password ? ', or a wrong user name or password (`invalid_credentials`)' : '') +
      '.',
    headers: challengeHeader(
      `The RFC 6750 challenge: \`${missing.challenge ?? ''}\` without credentials; with a bad token, \`error="invalid_token"\` and its \`error_description\`.`,
      missing.challenge,
    ),
    content: { 'application/json': { schema: refusalRef, examples } },
  };
}

/** An example rate limit: 100 requests a minute, none left, the window ending in 42 seconds. */
const RATE_LIMITED = { limit: 100, window: 60, remaining: 0, reset: 42 } as const;

/**
 * The headers of draft-ietf-httpapi-ratelimit-headers the module sets on each answer to a token
 * with a rate limit, refused or not.
 */
export const RATE_LIMIT_HEADERS: Readonly<Record<'RateLimit-Policy' | 'RateLimit', HeaderObject>> = {
  'RateLimit-Policy': {
    description: 'For a token with a rate limit: `"token";q=<requests>;w=<seconds>`, its limit of requests per window.',
    schema: { type: 'string' },
    example: `"token";q=${RATE_LIMITED.limit};w=${RATE_LIMITED.window}`,
  },
  RateLimit: {
    description:
      'For a token with a rate limit: `"token";r=<remaining>;t=<seconds>`, the requests left in the window and the seconds until it ends.',
    schema: { type: 'string' },
    example: `"token";r=${RATE_LIMITED.remaining};t=${RATE_LIMITED.reset}`,
  },
};

/**
 * The 429 of a route that takes a token: over the token's rate limit, or out of uses until they
 * are restored; and where the route takes a password by the module's grant, too many attempts.
 */
export function tooManyRequestsResponse(authentication: RouteAuthentication, realm: string): ResponseObject {
  const examples: Record<string, ExampleObject> = {
    rate_limited: answerTo(
      new TokenPolicyError('rate_limited', RATE_LIMITED.reset, RATE_LIMITED),
      realm,
      "Over the token's rate limit",
    ).example,
    uses_exhausted: answerTo(
      new TokenPolicyError('uses_exhausted', 3600),
      realm,
      'No uses left until they are restored',
    ).example,
  };
  if (authentication.passwordGrant) {
    examples.too_many_attempts = answerTo(new TooManyAttemptsError(60), realm, 'Too many password attempts').example;
  }
  return {
    description:
      "Over the token's rate limit (`rate_limited`), or out of uses until its `usesPeriod` restores them (`uses_exhausted`)" +
      (authentication.passwordGrant
        ? ', or too many password attempts for the account or from the client (`too_many_attempts`)'
        : '') +
      ': wait `Retry-After` seconds.',
    headers: {
      'Retry-After': {
        description: 'Seconds until a request may succeed again.',
        schema: { type: 'integer' },
        example: RATE_LIMITED.reset,
      },
      ...RATE_LIMIT_HEADERS,
    },
    content: { 'application/json': { schema: refusalRef, examples } },
  };
}

/** Which owners' tokens a route refuses, where the app has teams' tokens: none without them. */
export interface RefusedOwners {
  /** A team's token: `personal_token_required`. */
  readonly team: boolean;
  /** A personal token: `team_token_required`. */
  readonly user: boolean;
}

const NONE_REFUSED: RefusedOwners = { team: false, user: false };

/**
 * The 403 of a route that takes a token: a client address the token does not allow, no uses left,
 * where the route requires scopes a token that lacks them (with its `WWW-Authenticate` challenge),
 * and a token of an owner the route does not take (`@TokenOwners()`).
 */
export function forbiddenResponse(
  requirements: readonly ScopeRequirement[],
  realm: string,
  refused: RefusedOwners = NONE_REFUSED,
): ResponseObject {
  const answers = requirements.map((requirement) =>
    'allOf' in requirement
      ? answerTo(
          new InsufficientScopeError(requirement.allOf, 'allOf'),
          realm,
          `Lacks ${requirement.allOf.join(' and ')}`,
        )
      : answerTo(
          new InsufficientScopeError(requirement.anyOf, 'anyOf'),
          realm,
          `Lacks all of ${requirement.anyOf.join(', ')}`,
        ),
  );
  const owners = [
    ...(refused.team ? ["a team's token, as the route takes personal tokens (`personal_token_required`)"] : []),
    ...(refused.user ? ["a personal token, as the route takes a team's token (`team_token_required`)"] : []),
  ];
  const policy =
    "the token may not be used from the client's address (`ip_not_allowed`), or has no uses left and none will be restored (`uses_exhausted`)" +
    owners.map((owner) => `, or is ${owner}`).join('');
  return {
    description:
      requirements.length === 0
        ? `Refused: ${policy}.`
        : `The token lacks a required scope (\`insufficient_scope\`): it needs ${describeRequirements(requirements)}. Or ${policy}.`,
    ...(requirements.length === 0
      ? {}
      : {
          headers: challengeHeader(
            'For `insufficient_scope`: the RFC 6750 challenge, `error="insufficient_scope"`, its `scope` the scopes of the first requirement the token fails.',
            answers[0]?.challenge ?? null,
          ),
        }),
    content: {
      'application/json': {
        schema: refusalRef,
        examples: {
          ...Object.fromEntries(
            answers.map(({ example }, index) => [`insufficient_scope${index === 0 ? '' : `_${index + 1}`}`, example]),
          ),
          ip_not_allowed: answerTo(
            new TokenPolicyError('ip_not_allowed'),
            realm,
            'From an address the token does not allow',
          ).example,
          uses_exhausted: answerTo(new TokenPolicyError('uses_exhausted'), realm, 'No uses left').example,
          ...(refused.team
            ? {
                personal_token_required: answerTo(
                  new TokenOwnerError('personal_token_required'),
                  realm,
                  "A team's token",
                ).example,
              }
            : {}),
          ...(refused.user
            ? {
                team_token_required: answerTo(new TokenOwnerError('team_token_required'), realm, 'A personal token')
                  .example,
              }
            : {}),
        },
      },
    },
  };
}

/** The 400 of a route: malformed credentials where a token is needed, input refused where it is checked. */
export function badRequestResponse(guarded: boolean, badInput: boolean, realm: string): ResponseObject {
  const malformed = answerTo(
    new InvalidRequestError('The Authorization header must read "Bearer <token>"'),
    realm,
    'A malformed Authorization header',
  );
  const input: ExampleObject = {
    summary: 'Input refused',
    value: { statusCode: 400, message: ['name must be longer than or equal to 1 characters'], error: 'Bad Request' },
  };
  const parts = [
    ...(guarded
      ? [
          'malformed credentials (`invalid_request`: an `Authorization` header neither "Bearer <token>" nor HTTP Basic, or a token sent two ways at once)',
        ]
      : []),
    ...(badInput ? ['input refused (a body that does not parse, or a parameter that fails validation)'] : []),
  ];
  const schema =
    guarded && badInput ? { oneOf: [refusalRef, invalidInputRef] } : guarded ? refusalRef : invalidInputRef;
  return {
    description: `Bad request: ${parts.join('; or ')}.`,
    ...(guarded
      ? {
          headers: challengeHeader(
            'For malformed credentials: the RFC 6750 challenge, `error="invalid_request"`.',
            malformed.challenge,
          ),
        }
      : {}),
    content: {
      'application/json': {
        schema,
        examples: {
          ...(guarded ? { invalid_request: malformed.example } : {}),
          ...(badInput ? { invalid_input: input } : {}),
        },
      },
    },
  };
}

const quoted = (scope: string): string => `\`${scope}\``;

function orList(items: readonly string[], last: 'and' | 'or'): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)!}`;
}

/** "the scope `a`", "the scopes `a` and `b`", "one of the scopes `a` or `b`", joined by "and". */
export function describeRequirements(requirements: readonly ScopeRequirement[]): string {
  return orList(
    requirements.map((requirement) => {
      if ('allOf' in requirement) {
        return requirement.allOf.length === 1
          ? `the scope ${quoted(requirement.allOf[0]!)}`
          : `the scopes ${orList(requirement.allOf.map(quoted), 'and')}`;
      }
      return requirement.anyOf.length === 1
        ? `the scope ${quoted(requirement.anyOf[0]!)}`
        : `one of the scopes ${orList(requirement.anyOf.map(quoted), 'or')}`;
    }),
    'and',
  );
}

/**
 * The wildcards that grant `scope` besides itself: `users:admin:ban` is granted by `users:admin:*`,
 * `users:*` and `*`; `users:*` by `*`.
 */
export function grantingWildcards(scope: string): string[] {
  const words = scope.split(':');
  if (words.at(-1) === '*') words.pop();
  const wildcards: string[] = [];
  for (let length = words.length - 1; length >= 1; length--) wildcards.push(`${words.slice(0, length).join(':')}:*`);
  if (scope !== '*') wildcards.push('*');
  return wildcards.filter((wildcard) => wildcard !== scope && covers(wildcard, scope));
}

/** The sentence an operation's description gains: what it needs, and the wildcards that grant it. */
export function accessSentence(authentication: RouteAuthentication, requirements: readonly ScopeRequirement[]): string {
  if (requirements.length === 0) {
    return authentication.password
      ? "Needs an access token (any scope), or the user's name and password by HTTP Basic."
      : 'Needs an access token (any scope).';
  }
  // A password carries no scopes: where the route requires some, only a token passes ScopesGuard.
  const scopes = [
    ...new Set(requirements.flatMap((requirement) => ('allOf' in requirement ? requirement.allOf : requirement.anyOf))),
  ];
  // The narrowest first, `*` last.
  const wildcards = [...new Set(scopes.flatMap(grantingWildcards))].sort(
    (a, b) => b.split(':').length - a.split(':').length,
  );
  const also =
    wildcards.length === 0
      ? ''
      : ` A token with ${orList(wildcards.map(quoted), 'or')} has ${scopes.length === 1 ? 'it' : 'them'} too.`;
  return `Needs an access token with ${describeRequirements(requirements)}.${also}`;
}
