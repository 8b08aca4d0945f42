import { NestFactory } from '@nestjs/core';
import { SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module';
import { configureApp } from './configure';
import { openApiDocument } from './openapi';

async function bootstrap() {
  const app = configureApp(await NestFactory.create(AppModule));
  SwaggerModule.setup('docs', app, await openApiDocument(app));
  await app.listen(process.env.PORT ?? 3000);
}
bootstrap();
