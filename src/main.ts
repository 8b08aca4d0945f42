import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { connectionFromUrl } from './database.js';

async function bootstrap(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const app = await NestFactory.create(
    AppModule.forRoot({
      database: connectionFromUrl(process.env.DATABASE_URL),
      bcryptRounds: Math.max(10, Number(process.env.BCRYPT_ROUNDS ?? 10) || 10),
    }),
  );
  configureApp(app).enableShutdownHooks();
  await app.listen(port);
  Logger.log(`Demo API listening on http://localhost:${port}`, 'Bootstrap');
}

void bootstrap();
