import { INestApplication, ValidationPipe } from '@nestjs/common';

/**
 * What the app sets up beyond its module, in main.ts and in the e2e tests alike: a global
 * ValidationPipe as strict as apps make it (unknown fields are a 400, bodies become DTO instances).
 */
export function configureApp<App extends INestApplication>(app: App): App {
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  return app;
}
