import 'reflect-metadata';
import { runTokensCli } from 'nestjs-access-tokens/cli';

/**
 * `npm run tokens -- <command>` (`--help` lists them): the library's tokens CLI on the demo's own
 * module, so on the server's database (DATABASE_URL), secret (TOKEN_SECRET, or on SQLite the file
 * beside the database) and cache bus (TOKEN_CACHE_BUS: a revocation reaches every instance at once).
 */
process.exitCode = await runTokensCli(
  // Called once the command line is understood: `--help` or a typo loads and reads nothing. The
  // Express flavour of the GraphQL module, whatever HTTP_ADAPTER says: a context serves no HTTP.
  async () => {
    const [{ AppModule }, { demoConfigFromEnv }] = await Promise.all([
      import('./app.module.js'),
      import('./demo-env.js'),
    ]);
    return AppModule.forRoot({ ...demoConfigFromEnv(), httpAdapter: 'express' });
  },
  process.argv.slice(2),
  { program: 'npm run tokens --' },
);
