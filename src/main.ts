import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { demoConfigFromEnv, positiveFromEnv, throttleStoreFromEnv } from './demo-env.js';
import type { DemoConfig } from './demo.config.js';
import { serveDemoDocs } from './docs.js';
import { configureDemoApp, createHttpAdapter, DEMO_APP_OPTIONS } from './http.js';

async function bootstrap(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);

  const config: DemoConfig = {
    ...demoConfigFromEnv(),
    // Password attempts throttled by the token module's password grant, per account and per client.
    loginAttempts: {
      perUser: positiveFromEnv('LOGIN_ATTEMPTS_PER_USER', 10),
      perClient: positiveFromEnv('LOGIN_ATTEMPTS_PER_CLIENT', 30),
      store: throttleStoreFromEnv(),
    },
  };

  const app = await NestFactory.create(
    AppModule.forRoot(config),
    createHttpAdapter(config.httpAdapter ?? 'express'),
    DEMO_APP_OPTIONS,
  );
  configureDemoApp(app);
  await serveDemoDocs(app);
  app.enableShutdownHooks();
  await app.listen(port);
  Logger.log(`Demo API listening on ${await app.getUrl()}`, 'Bootstrap');
}

void bootstrap();
