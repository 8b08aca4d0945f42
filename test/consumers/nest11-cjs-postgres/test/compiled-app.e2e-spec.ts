import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

// The app as `npm run build` compiles it, run by Node itself rather than Jest: CommonJS code
// `require()`s the ES-module package (Node 20.19+ `require(esm)`), with no transform in between.
const root = join(__dirname, '..');
const main = join(root, 'dist', 'main.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('The compiled app, run by node (e2e)', () => {
  let child: ChildProcess;
  let base: string;
  let output = '';

  beforeAll(async () => {
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [main], {
      cwd: root,
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`node dist/main.js exited with ${code}:\n${output}`))),
    );
    const deadline = Date.now() + 20_000;
    const ready = (async () => {
      for (;;) {
        try {
          await fetch(`${base}/`);
          return;
        } catch {
          if (Date.now() > deadline) throw new Error(`node dist/main.js did not listen within 20 s:\n${output}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    })();
    await Promise.race([ready, exited]);
  }, 30_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('answers the public route', async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('Hello World!');
  });

  it('challenges a request without a token on a guarded route', async () => {
    const response = await fetch(`${base}/me`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="api"');
    expect(await response.json()).toMatchObject({ statusCode: 401 });
  });

  it('refuses a bad token with invalid_token', async () => {
    const response = await fetch(`${base}/reports`, { headers: { Authorization: 'Bearer nat_garbage' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(await response.json()).toMatchObject({ error: 'invalid_token', reason: 'malformed' });
  });

  it('mounts the ready-made routes: generating a token needs credentials', async () => {
    const response = await fetch(`${base}/tokens/generate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'laptop', scopes: ['reports:read'] }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="api", Bearer realm="api"');
  });

  it("serves the OpenAPI document at /docs-json, with the ready-made routes' bodies as their DTOs declare them", async () => {
    const response = await fetch(`${base}/docs-json`);
    expect(response.status).toBe(200);
    type Schema = { $ref?: string; properties?: Record<string, unknown> };
    const document = (await response.json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>>;
      components: { schemas: Record<string, Schema> };
    };
    expect(Object.keys(document.components.schemas)).not.toContain('Function');
    const body = document.paths['/tokens/generate']?.post?.requestBody?.content['application/json']?.schema;
    const schema = body?.$ref ? document.components.schemas[body.$ref.replace('#/components/schemas/', '')] : body;
    expect(Object.keys(schema?.properties ?? {}).sort()).toEqual([
      'allowedIps',
      'expiresIn',
      'maxUses',
      'metadata',
      'name',
      'rateLimit',
      'scopes',
      'usesPeriod',
    ]);
    // tsc records `RateLimitDto | null` as Object: the DTO names its class, so the document refers to its schema.
    expect(JSON.stringify(schema?.properties?.rateLimit)).toContain('#/components/schemas/RateLimitDto');
  });

  it('printed no warning', () => {
    expect(output).not.toMatch(/warn/i);
  });
});
