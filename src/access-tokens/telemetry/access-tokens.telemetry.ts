import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  metrics,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type ObservableCallback,
  type ObservableGauge,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { AccessTokenEvents } from '../access-token.events.js';
import type { ResolvedAccessTokensOptions } from '../access-tokens-options.interface.js';
import { RESOLVED_OPTIONS } from '../access-tokens.internal-constants.js';
import { CacheBus, type CacheBusState } from '../cache/cache-bus.js';
import { AccessTokensError } from '../core/access-tokens.errors.js';

/*
 * The module's OpenTelemetry instruments (docs/observability.md lists them), through
 * `@opentelemetry/api` only: the app's SDK, given in `telemetry` or registered globally, decides
 * where they go; without one, each call is the API's no-op. Attribute values are fixed words
 * (outcomes, transports, states): never a token, a hash or a user's data.
 */

/** The instrumentation scope's name: the package's. */
export const INSTRUMENTATION_SCOPE = 'nestjs-access-tokens';
/** The package's version, as the instrumentation scope's (a unit spec compares it with package.json). */
export const INSTRUMENTATION_VERSION = '0.1.0';

/** Instrument names, under `access_tokens.`. */
export const METRIC_NAMES = {
  verifications: 'access_tokens.verifications',
  duration: 'access_tokens.verification.duration',
  cacheLookups: 'access_tokens.cache.lookups',
  busState: 'access_tokens.cache_bus.state',
  canaryUses: 'access_tokens.canary_uses',
} as const;

/** The span around each database verification. */
export const VERIFY_SPAN = 'access_tokens.verify';

/**
 * Where a verification came from: `ArgumentsHost.getType()` at the guards (`http`, `graphql`,
 * `ws`, `rpc`), `http` for the Passport strategy, `direct` for `TokensService.verify()`/`resolve()`.
 */
export type VerificationTransport = 'http' | 'graphql' | 'ws' | 'rpc' | 'direct';

const TRANSPORTS: readonly string[] = ['http', 'graphql', 'ws', 'rpc', 'direct', 'other'];
const BUS_STATES: readonly CacheBusState[] = ['up', 'down', 'none'];

/**
 * Bucket bounds of the latency histogram, in seconds: a cache hit takes microseconds, a database
 * read milliseconds, so the buckets start at 5 µs.
 */
export const DURATION_BUCKETS = [
  0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5,
];

/** Attributes of the verifications of one transport, by outcome: built once each, frozen. */
type ByOutcome = Map<string, Attributes>;

/**
 * The module's metrics and spans. Built once per module; every attribute object it passes is
 * built once and frozen, so that a verification served from the cache adds two clock reads and
 * three calls into the meter, no allocation of the module's own.
 */
@Injectable()
export class AccessTokensTelemetry implements OnModuleDestroy {
  /** `false` with `telemetry: false`: the request path then skips even the clock reads. */
  readonly enabled: boolean;
  private readonly verifications: Counter | null = null;
  private readonly duration: Histogram | null = null;
  private readonly cacheLookups: Counter | null = null;
  private readonly canaryUses: Counter | null = null;
  private readonly busState: ObservableGauge | null = null;
  private readonly observeBus: ObservableCallback | null = null;
  private readonly tracer: Tracer | null = null;
  private readonly stopCanaries: (() => void) | null = null;
  private readonly byTransport = new Map<string, ByOutcome>();
  private readonly hit: Attributes = Object.freeze({ result: 'hit' });
  private readonly miss: Attributes = Object.freeze({ result: 'miss' });

  constructor(
    @Inject(RESOLVED_OPTIONS) options: ResolvedAccessTokensOptions,
    bus: CacheBus,
    events: AccessTokenEvents,
  ) {
    const { telemetry } = options;
    this.enabled = telemetry !== null;
    if (!telemetry) return;
    const meter = (telemetry.meterProvider ?? metrics.getMeterProvider()).getMeter(
      INSTRUMENTATION_SCOPE,
      INSTRUMENTATION_VERSION,
    );
    this.tracer = (telemetry.tracerProvider ?? trace.getTracerProvider()).getTracer(
      INSTRUMENTATION_SCOPE,
      INSTRUMENTATION_VERSION,
    );
    this.verifications = meter.createCounter(METRIC_NAMES.verifications, {
      description: 'Tokens verified or refused, by outcome (verified, or the refusal reason) and transport',
      unit: '{verification}',
    });
    this.duration = meter.createHistogram(METRIC_NAMES.duration, {
      description: 'How long a verification took, cache hits included, by outcome and transport',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.cacheLookups = meter.createCounter(METRIC_NAMES.cacheLookups, {
      description: 'Lookups of the verification cache, by result (hit or miss)',
      unit: '{lookup}',
    });
    this.canaryUses = meter.createCounter(METRIC_NAMES.canaryUses, {
      description: 'Uses of canary tokens (each also refused as unknown)',
      unit: '{use}',
    });
    this.busState = meter.createObservableGauge(METRIC_NAMES.busState, {
      description: 'The cache invalidation bus: 1 for its current state (up, down, none), 0 for the others',
      unit: '1',
    });
    const stateAttributes = new Map(BUS_STATES.map((state) => [state, Object.freeze({ state })]));
    this.observeBus = (result) => {
      const current = bus.state;
      for (const [state, attributes] of stateAttributes) result.observe(state === current ? 1 : 0, attributes);
    };
    this.busState.addCallback(this.observeBus);
    const canaryUse: Attributes = Object.freeze({});
    const canaryUses = this.canaryUses;
    this.stopCanaries = events.on('canary_used', () => canaryUses.add(1, canaryUse));
    for (const transport of TRANSPORTS) {
      const byOutcome: ByOutcome = new Map();
      // The common outcomes up front; another error code gets its attributes on first sight.
      for (const outcome of ['verified', 'malformed', 'unknown', 'expired', 'revoked', 'error'])
        byOutcome.set(outcome, Object.freeze({ outcome, transport }));
      this.byTransport.set(transport, byOutcome);
    }
  }

  onModuleDestroy(): void {
    // The providers may outlive this module (the global ones do): leave nothing of it behind.
    if (this.busState && this.observeBus) this.busState.removeCallback(this.observeBus);
    this.stopCanaries?.();
  }

  /** A lookup of the verification cache found the token. */
  cacheHit(): void {
    this.cacheLookups?.add(1, this.hit);
  }

  /** A lookup of the verification cache did not find the token. */
  cacheMiss(): void {
    this.cacheLookups?.add(1, this.miss);
  }

  /** A verification through `transport`, begun at `started` (`performance.now()`), succeeded. */
  verified(transport: string, started: number): void {
    const attributes = this.attributesOf(transport, 'verified');
    this.verifications!.add(1, attributes);
    this.duration!.record((performance.now() - started) / 1000, attributes);
  }

  /** A verification through `transport`, begun at `started`, failed with `error`; returns `error`. */
  refused(transport: string, error: unknown, started: number): unknown {
    const attributes = this.attributesOf(transport, outcomeOf(error));
    this.verifications!.add(1, attributes);
    this.duration!.record((performance.now() - started) / 1000, attributes);
    return error;
  }

  /**
   * Runs `work` (a database verification) in the span `access_tokens.verify`, the active span
   * meanwhile, so that the database driver's own spans, if instrumented, are its children.
   */
  inVerifySpan<T extends { verified: { accessToken: { id: string; kind: string } } }>(
    work: () => Promise<T>,
  ): Promise<T> {
    const { tracer } = this;
    if (!tracer) return work();
    return tracer.startActiveSpan(VERIFY_SPAN, async (span: Span) => {
      try {
        const cached = await work();
        const { id, kind } = cached.verified.accessToken;
        span.setAttributes({
          'access_tokens.outcome': 'verified',
          'access_tokens.token.kind': kind,
          'access_tokens.token.id': id,
        });
        return cached;
      } catch (error) {
        const outcome = outcomeOf(error);
        span.setAttribute('access_tokens.outcome', outcome);
        // A refusal is the verification doing its job; anything else (the database away) is an error.
        if (!isRefusal(error)) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private attributesOf(transport: string, outcome: string): Attributes {
    const byOutcome = this.byTransport.get(transport) ?? this.byTransport.get('other')!;
    let attributes = byOutcome.get(outcome);
    if (!attributes) {
      attributes = Object.freeze({ outcome, transport: this.byTransport.has(transport) ? transport : 'other' });
      byOutcome.set(outcome, attributes);
    }
    return attributes;
  }
}

/** The outcome of a failed verification: the module error's code (the refusal reason), or `error`. */
function outcomeOf(error: unknown): string {
  return error instanceof AccessTokensError ? error.code : 'error';
}

/** Whether `error` is a refusal of the token, not a failure to check it. */
function isRefusal(error: unknown): boolean {
  return error instanceof AccessTokensError && error.code !== 'store_unavailable';
}
