import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A built server in a process of its own. */
export interface ServerProcess {
  url: string;
  /** What it has written to stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `entry` (a built script that logs "listening on <url>") on a free port and waits until
 * it listens.
 */
export async function startServer(
  env: Record<string, string>,
  entry = 'dist/src/main.js',
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, entry], {
    env: { ...process.env, PORT: '0', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The demo API did not start:\n${output}`)), 20_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!.replace('[::1]', '127.0.0.1').replace('[::]', '127.0.0.1'));
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`The demo API exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
