import type { OnApplicationBootstrap } from '@nestjs/common';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';

/**
 * Mercurius, registered with Fastify once the app is initialised rather than while its modules
 * are. Registering a Fastify plugin runs Fastify's queue up to it, and each route already added
 * (all of Nest's) then keeps the error handler of that moment, Fastify's own: Nest sets the app's
 * only after the modules are initialised. Registered early, a body Fastify refuses before any route
 * runs (over the size limit) was answered by Fastify (`FST_ERR_CTP_BODY_TOO_LARGE`, its message),
 * not as the demo answers it (measured: `test/bad-input.e2e-spec.ts` on Fastify).
 */
export class DeferredMercuriusDriver extends MercuriusDriver implements OnApplicationBootstrap {
  private options?: MercuriusDriverConfig;

  override async start(options: MercuriusDriverConfig): Promise<void> {
    this.options = options;
  }

  /** After Nest set its error handler, before Fastify is ready: the last moment to register a plugin. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.options) await super.start(this.options);
  }
}
