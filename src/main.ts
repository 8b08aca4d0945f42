import 'reflect-metadata';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { CredentialsThrottlingModule } from './auth/credentials-throttling.module.js';
import { demoConfigFromEnv, positiveFromEnv, throttleStoreFromEnv } from './demo-env.js';
import { configureDemoApp, createHttpAdapter, DEMO_APP_OPTIONS } from './http.js';

async function bootstrap(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);

  const config = demoConfigFromEnv();

  @Module({
    imports: [
      AppModule.forRoot(config),
      CredentialsThrottlingModule.forRoot({
        perUser: positiveFromEnv('LOGIN_ATTEMPTS_PER_USER', 10),
        perClient: positiveFromEnv('LOGIN_ATTEMPTS_PER_CLIENT', 30),
        store: throttleStoreFromEnv(),
      }),
    ],
  })
  class MainModule {}

  const app = await NestFactory.create(MainModule, createHttpAdapter(config.httpAdapter ?? 'express'), DEMO_APP_OPTIONS);
  configureDemoApp(app);
  app.enableShutdownHooks();
  await app.listen(port);
  Logger.log(`Demo API listening on ${await app.getUrl()}`, 'Bootstrap');
}

void bootstrap();
