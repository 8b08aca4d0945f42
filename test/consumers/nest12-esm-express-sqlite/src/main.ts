import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module.js';
import { configureApp } from './configure.js';
import { openApiDocument } from './openapi.js';

const app = configureApp(await NestFactory.create(AppModule.forRoot()));
SwaggerModule.setup('docs', app, await openApiDocument(app));
app.enableShutdownHooks();
await app.listen(Number(process.env.PORT ?? 3000));
console.log(`listening on ${await app.getUrl()}`);
