import 'reflect-metadata';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { configureApp } from './app.setup.js';
import { CredentialsThrottlingModule } from './auth/credentials-throttling.module.js';
import { connectionFromUrl } from './database.js';
import type { DemoConfig } from './demo.config.js';
import { USERNAME_PATTERN, passwordProblem } from './users/users.dto.js';

/** ADMIN_USERNAME and ADMIN_PASSWORD, both or neither. */
function adminFromEnv(): DemoConfig['admin'] {
  const { ADMIN_USERNAME: username, ADMIN_PASSWORD: password } = process.env;
  if (!username && !password) return undefined;
  if (!username || !password) throw new Error('Set both ADMIN_USERNAME and ADMIN_PASSWORD, or neither');
  if (!USERNAME_PATTERN.test(username)) throw new Error('ADMIN_USERNAME must be 3 to 64 letters, digits, "_", "." or "-"');
  const problem = passwordProblem(password);
  if (problem) throw new Error(`ADMIN_PASSWORD: ${problem}`);
  return { username, password };
}

/** A positive whole number from the environment, or the default. */
function count(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number`);
  return value;
}

async function bootstrap(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);

  @Module({
    imports: [
      AppModule.forRoot({
        database: connectionFromUrl(process.env.DATABASE_URL),
        bcryptRounds: Math.max(10, count('BCRYPT_ROUNDS', 10)),
        admin: adminFromEnv(),
      }),
      CredentialsThrottlingModule.forRoot({
        perUser: count('LOGIN_ATTEMPTS_PER_USER', 10),
        perClient: count('LOGIN_ATTEMPTS_PER_CLIENT', 30),
      }),
    ],
  })
  class MainModule {}

  const app = await NestFactory.create(MainModule);
  configureApp(app).enableShutdownHooks();
  await app.listen(port);
  Logger.log(`Demo API listening on ${await app.getUrl()}`, 'Bootstrap');
}

void bootstrap();
