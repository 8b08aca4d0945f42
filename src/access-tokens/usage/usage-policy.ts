import { BlockList, isIP } from 'node:net';
import { InvalidUsagePolicyError } from '../core/access-tokens.errors.js';
import { rateLimitPolicyHeader } from '../edge/rfc6750.js';

/**
 * A token's usage policy, with no Nest and no database in it: what `issue()` and `update()` take,
 * its checks, and the form the request path checks it in.
 */

/** At most `limit` requests per `window` seconds; a window starts with its first request. */
export interface RateLimit {
  /** Requests per window: a whole number from 1 to 1,000,000,000. */
  readonly limit: number;
  /** The window, in seconds: a whole number from 1 to 31,536,000 (a year). */
  readonly window: number;
}

/**
 * What a token may do besides its scopes: how often, how many times in all, from where. Each part
 * left out of `issue()` takes the module's default (`usage.defaults`); `null` says none.
 */
export interface TokenUsagePolicy {
  /** Requests per window, counted per token (and its rotations) across instances when `usage.counters` is Redis. */
  rateLimit?: RateLimit | null;
  /** Requests the token may make in all (from 1), exact across instances and restarts. */
  maxUses?: number | null;
  /** Seconds after which the token's uses are restored to `maxUses`: a monthly allowance. Needs `maxUses`. */
  usesPeriod?: number | null;
  /** The client addresses and CIDR ranges, IPv4 or IPv6, the token may be used from (1 to 100). */
  allowedIps?: readonly string[] | null;
}

/** A policy as checked and stored: every part given, `null` for none. */
export interface StoredPolicy {
  rateLimit: RateLimit | null;
  maxUses: number | null;
  usesPeriod: number | null;
  allowedIps: string[] | null;
}

const MAX_LIMIT = 1_000_000_000;
const MAX_SECONDS = 365 * 24 * 3600;
/** The largest value of the columns' `integer`. */
const MAX_USES = 2_147_483_647;
const MAX_ADDRESSES = 100;

function fail(message: string): never {
  throw new InvalidUsagePolicyError(message);
}

function whole(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > max)
    fail(`${name} must be a whole number from 1 to ${max}`);
  return value;
}

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4 address it is. */
export function normalizeAddress(address: string): string {
  return address.length > 7 && address.slice(0, 7).toLowerCase() === '::ffff:' && isIP(address.slice(7)) === 4
    ? address.slice(7)
    : address;
}

/**
 * The client's address, as events and the audit trail report it: the request's `ip` as the HTTP
 * server reads it (Express's and Fastify's, which honour their `trust proxy` settings),
 * IPv4-mapped addresses as IPv4; `null` without a request, or if it is not an IP address. Read only
 * when needed: Express computes `ip` at each read.
 */
export function clientAddressOf(request: { ip?: unknown } | undefined): string | null {
  const ip = request?.ip;
  if (typeof ip !== 'string') return null;
  const address = normalizeAddress(ip);
  return isIP(address) === 0 ? null : address;
}

/** `entry` (an address or a CIDR range) in the form stored: lower case, IPv4-mapped addresses as IPv4. */
function allowedEntry(entry: unknown): string {
  const text = typeof entry === 'string' ? entry.trim().toLowerCase() : '';
  const [address = '', bits, extra] = text.split('/');
  const ip = normalizeAddress(address);
  const family = isIP(ip);
  const max = family === 4 ? 32 : 128;
  const valid =
    family !== 0 &&
    extra === undefined &&
    (bits === undefined || (/^[0-9]{1,3}$/.test(bits) && Number(bits) <= max && !(ip !== address && bits)));
  if (!valid)
    fail(`allowedIps: ${JSON.stringify(String(entry).slice(0, 60))} is not an IPv4 or IPv6 address or CIDR range`);
  return bits === undefined ? ip : `${ip}/${Number(bits)}`;
}

/**
 * Checks the parts of `input` that are given (`undefined` leaves a part as `current` has it) and
 * returns the whole policy; throws `InvalidUsagePolicyError` saying which part is wrong.
 */
export function checkPolicy(input: TokenUsagePolicy, current: StoredPolicy): StoredPolicy {
  if (typeof input !== 'object' || input === null) fail('the usage policy must be an object');
  const policy = { ...current };
  const { rateLimit, maxUses, usesPeriod, allowedIps } = input;
  if (rateLimit !== undefined) {
    if (rateLimit !== null && (typeof rateLimit !== 'object' || Array.isArray(rateLimit)))
      fail('rateLimit must be { limit, window } or null');
    policy.rateLimit =
      rateLimit === null
        ? null
        : {
            limit: whole(rateLimit.limit, 'rateLimit.limit', MAX_LIMIT),
            window: whole(rateLimit.window, 'rateLimit.window', MAX_SECONDS),
          };
  }
  if (maxUses !== undefined) policy.maxUses = maxUses === null ? null : whole(maxUses, 'maxUses', MAX_USES);
  if (usesPeriod !== undefined)
    policy.usesPeriod = usesPeriod === null ? null : whole(usesPeriod, 'usesPeriod', MAX_SECONDS);
  // A token without a quota has nothing to restore.
  if (maxUses === null && usesPeriod === undefined) policy.usesPeriod = null;
  if (policy.usesPeriod !== null && policy.maxUses === null) fail('usesPeriod needs maxUses');
  if (allowedIps !== undefined) {
    if (allowedIps !== null && !Array.isArray(allowedIps)) fail('allowedIps must be a list of addresses, or null');
    if (allowedIps !== null && (allowedIps.length === 0 || allowedIps.length > MAX_ADDRESSES))
      fail(`allowedIps must list 1 to ${MAX_ADDRESSES} addresses or ranges (null: any address)`);
    policy.allowedIps = allowedIps === null ? null : [...new Set(allowedIps.map(allowedEntry))];
  }
  return policy;
}

/** No policy at all. */
export const NO_POLICY: StoredPolicy = Object.freeze({
  rateLimit: null,
  maxUses: null,
  usesPeriod: null,
  allowedIps: null,
});

/** `allowedIps` as a `BlockList` (Node's matcher of addresses and ranges), in which an allowed address is found. */
export function allowListOf(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/');
    const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

/** Whether `address` (the client's, as the framework reports it) is on `list`; `false` when unknown. */
export function isAllowed(list: BlockList, address: unknown): boolean {
  if (typeof address !== 'string') return false;
  const ip = normalizeAddress(address);
  const family = isIP(ip);
  return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * A token's policy as the request path checks it, built once per verification and kept with it in
 * the cache: a token without one keeps `null`, and pays one comparison a request.
 */
export interface ActivePolicy {
  /** The allowed addresses, or `null` for any. */
  readonly allow: BlockList | null;
  /**
   * The rate limit, counted under `key`: the token's rotation lineage, so that a rotation starts no
   * new count, and its window, so that a new window starts a new count (a new limit alone applies
   * to the current count).
   */
  readonly rateLimit:
    (RateLimit & { readonly windowMs: number; readonly key: string; readonly policyHeader: string }) | null;
  /** Whether each use takes one of `maxUses`. */
  readonly counted: boolean;
  /** `usesPeriod`, in milliseconds, or `null`. */
  readonly periodMs: number | null;
  /** No use is left before this time (epoch ms), as the last refusal found: no write for a refused request. */
  exhaustedUntil: number;
}

/**
 * `policy` as the request path checks it, or `null` when there is none; its rate limit counted
 * under `lineage` (the token's rotation lineage) and its window.
 */
export function activePolicyOf(lineage: string, policy: StoredPolicy): ActivePolicy | null {
  const { rateLimit, maxUses, usesPeriod, allowedIps } = policy;
  if (rateLimit === null && maxUses === null && allowedIps === null) return null;
  return {
    allow: allowedIps && allowListOf(allowedIps),
    rateLimit: rateLimit && {
      ...rateLimit,
      windowMs: rateLimit.window * 1000,
      // A window of a day left running after a change to a minute would refuse for the rest of the day.
      key: `${lineage}:${rateLimit.window}`,
      // Built once, since every answer to the token carries it.
      policyHeader: rateLimitPolicyHeader(rateLimit.limit, rateLimit.window),
    },
    counted: maxUses !== null,
    periodMs: usesPeriod === null ? null : usesPeriod * 1000,
    exhaustedUntil: -Infinity,
  };
}
