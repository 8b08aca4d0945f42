import { Controller, Get, Header, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Public } from 'nestjs-access-tokens';

/**
 * The demo's OpenTelemetry metrics: an SDK meter provider of its own, read by the Prometheus
 * exporter on each scrape (no server of the exporter's: `GET /metrics` serves them). It is handed
 * to `AccessTokensModule` through its `telemetry` option; nothing is registered globally, so two
 * apps in one process keep their numbers apart.
 */
@Injectable()
export class DemoMetrics implements OnApplicationShutdown {
  private readonly exporter = new PrometheusExporter({ preventServerStart: true });
  private readonly serializer = new PrometheusSerializer();
  readonly meterProvider = new MeterProvider({ readers: [this.exporter] });

  /** Every metric now, in Prometheus's text format. */
  async scrape(): Promise<string> {
    const { resourceMetrics } = await this.exporter.collect();
    return this.serializer.serialize(resourceMetrics);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.meterProvider.shutdown();
  }
}

/**
 * `GET /metrics` for Prometheus, on Express and Fastify alike (the exporter's own request handler
 * takes Node's request and response, which Fastify's routes do not give). Public in the demo; a
 * real app keeps it off the public network, or behind a token with a scope of its own.
 */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: DemoMetrics) {}

  @Public()
  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
