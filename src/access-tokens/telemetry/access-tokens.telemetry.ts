import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import {
  metrics,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type ObservableCallback,
  type ObservableCounter,
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
/** The package's version, as the instrumentation scope's (test/telemetry.e2e-spec.ts compares it with package.json). */
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
 * `ws`, `rpc`), `http` for the Passport strategy, `direct` for `TokensService.verify()`/`resolve()`;
 * `other` for a context type of another transport.
 */
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

/** A count the module keeps itself, and its attributes, built once and frozen. */
interface Tally {
  readonly attributes: Attributes;
  count: number;
}

/**
 * The counts of one meter: verifications by transport, then outcome, and cache lookups. Two apps
 * in one process that report to one meter (the global provider's) share them, as they would share
 * a counter, and one callback reports them at each collection.
 */
class MeterCounts {
  readonly verifications = new Map<string, Map<string, Tally>>();
  readonly hits: Tally = { attributes: Object.freeze({ result: 'hit' }), count: 0 };
  readonly misses: Tally = { attributes: Object.freeze({ result: 'miss' }), count: 0 };
  /** The modules that report to this meter; the callbacks go when the last one stops. */
  users = 0;
  private readonly verificationsCounter: ObservableCounter;
  private readonly lookupsCounter: ObservableCounter;
  private readonly observeVerifications: ObservableCallback = (result) => {
    for (const byOutcome of this.verifications.values())
      for (const tally of byOutcome.values()) if (tally.count > 0) result.observe(tally.count, tally.attributes);
  };
  private readonly observeLookups: ObservableCallback = (result) => {
    result.observe(this.hits.count, this.hits.attributes);
    result.observe(this.misses.count, this.misses.attributes);
  };

  constructor(meter: Meter) {
    this.verificationsCounter = meter.createObservableCounter(METRIC_NAMES.verifications, {
      description: 'Tokens verified or refused, by outcome (verified, or the refusal reason) and transport',
      unit: '{verification}',
    });
    this.lookupsCounter = meter.createObservableCounter(METRIC_NAMES.cacheLookups, {
      description: 'Lookups of the verification cache, by result (hit or miss)',
      unit: '{lookup}',
    });
    this.verificationsCounter.addCallback(this.observeVerifications);
    this.lookupsCounter.addCallback(this.observeLookups);
    for (const transport of TRANSPORTS) {
      const byOutcome = new Map<string, Tally>();
      // The common outcomes up front; another error code gets its tally on first sight.
      for (const outcome of ['verified', 'malformed', 'unknown', 'expired', 'revoked', 'error'])
        byOutcome.set(outcome, { attributes: Object.freeze({ outcome, transport }), count: 0 });
      this.verifications.set(transport, byOutcome);
    }
  }

  /** The tally of `outcome` through `transport`: two map lookups, an allocation only the first time. */
  tally(transport: string, outcome: string): Tally {
    const known = this.verifications.get(transport);
    const byOutcome = known ?? this.verifications.get('other')!;
    let tally = byOutcome.get(outcome);
    if (!tally) {
      tally = { attributes: Object.freeze({ outcome, transport: known ? transport : 'other' }), count: 0 };
      byOutcome.set(outcome, tally);
    }
    return tally;
  }

  stop(): void {
    this.verificationsCounter.removeCallback(this.observeVerifications);
    this.lookupsCounter.removeCallback(this.observeLookups);
  }
}

/** The counts of each meter in use. */
const countsByMeter = new WeakMap<Meter, MeterCounts>();

/**
 * The module's metrics and spans. A verification adds to counts the module keeps, which the meter
 * reads at each collection (observable counters), and records its latency in the histogram: a
 * verification served from the cache adds two clock reads, two increments and one call into the
 * meter, with attributes built once; no allocation of the module's own.
 */
@Injectable()
export class AccessTokensTelemetry implements OnModuleDestroy {
  /** `false` with `telemetry: false`: the request path then skips even the clock reads. */
  readonly enabled: boolean;
  private readonly counts: MeterCounts | null = null;
  private readonly meter: Meter | null = null;
  private readonly duration: Histogram | null = null;
  private readonly canaryUses: Counter | null = null;
  private readonly busState: ObservableGauge | null = null;
  private readonly observeBus: ObservableCallback | null = null;
  private readonly tracer: Tracer | null = null;
  private readonly stopCanaries: (() => void) | null = null;

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
    this.meter = meter;
    this.tracer = (telemetry.tracerProvider ?? trace.getTracerProvider()).getTracer(
      INSTRUMENTATION_SCOPE,
      INSTRUMENTATION_VERSION,
    );
    let counts = countsByMeter.get(meter);
    if (!counts) {
      counts = new MeterCounts(meter);
      countsByMeter.set(meter, counts);
    }
    counts.users++;
    this.counts = counts;
    this.duration = meter.createHistogram(METRIC_NAMES.duration, {
      description: 'How long a verification took, cache hits included, by outcome and transport',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
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
  }

  onModuleDestroy(): void {
    // The providers may outlive this module (the global ones do): leave nothing of it behind.
    if (this.busState && this.observeBus) this.busState.removeCallback(this.observeBus);
    this.stopCanaries?.();
    const { counts, meter } = this;
    if (counts && meter && --counts.users === 0) {
      counts.stop();
      countsByMeter.delete(meter);
    }
  }

  /** A lookup of the verification cache found the token. */
  cacheHit(): void {
    if (this.counts) this.counts.hits.count++;
  }

  /** A lookup of the verification cache did not find the token. */
  cacheMiss(): void {
    if (this.counts) this.counts.misses.count++;
  }

  /** A verification through `transport`, begun at `started` (`performance.now()`), succeeded. */
  verified(transport: string, started: number): void {
    const tally = this.counts!.tally(transport, 'verified');
    tally.count++;
    this.duration!.record((performance.now() - started) / 1000, tally.attributes);
  }

  /** A verification through `transport`, begun at `started`, failed with `error`; returns `error`. */
  refused(transport: string, error: unknown, started: number): unknown {
    const tally = this.counts!.tally(transport, outcomeOf(error));
    tally.count++;
    this.duration!.record((performance.now() - started) / 1000, tally.attributes);
    return error;
  }

  /**
   * Runs `work` (a database verification) in the span `access_tokens.verify`, the active span
   * meanwhile, so that the database driver's own spans, if instrumented, are its children.
   */
  inVerifySpan<T extends object>(work: () => Promise<T>): Promise<T> {
    const { tracer } = this;
    if (!tracer) return work();
    return tracer.startActiveSpan(VERIFY_SPAN, async (span: Span) => {
      try {
        const found = await work();
        if (!('verified' in found)) {
          // A canary: refused as the unknown token it is answered as, in the span as everywhere.
          span.setAttribute('access_tokens.outcome', 'unknown');
          return found;
        }
        const { id, kind } = (found as { verified: { accessToken: { id: string; kind: string } } }).verified
          .accessToken;
        span.setAttributes({
          'access_tokens.outcome': 'verified',
          'access_tokens.token.kind': kind,
          'access_tokens.token.id': id,
        });
        return found;
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
}

/** The outcome of a failed verification: the module error's code (the refusal reason), or `error`. */
function outcomeOf(error: unknown): string {
  return error instanceof AccessTokensError ? error.code : 'error';
}

/** Whether `error` is a refusal of the token, not a failure to check it. */
function isRefusal(error: unknown): boolean {
  return error instanceof AccessTokensError && error.code !== 'store_unavailable';
}
