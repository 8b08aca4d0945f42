import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { TokensService } from 'nestjs-access-tokens';
import { AppModule } from './app.module.js';
import { connectionFromUrl } from './database.js';
import { tokenSecretFromEnv } from './token-secret.js';

const USAGE = 'usage: npm run tokens -- prune';

/** `npm run tokens -- prune`: deletes the tokens past their retention, on DATABASE_URL's database. */
async function main(command: string | undefined): Promise<number> {
  if (command !== 'prune') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const database = connectionFromUrl(process.env.DATABASE_URL);
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot({ database, secret: tokenSecretFromEnv(database), bcryptRounds: 10 }),
    { logger: ['error', 'warn'] },
  );
  try {
    const count = await app.get(TokensService).prune();
    process.stdout.write(`Pruned ${count} token${count === 1 ? '' : 's'}\n`);
    return 0;
  } finally {
    await app.close();
  }
}

process.exitCode = await main(process.argv[2]);
