import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { configureApp } from './configure.js';

const app = configureApp(await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter()));
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3000), '0.0.0.0');
console.log(`listening on ${await app.getUrl()}`);
