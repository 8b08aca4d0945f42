import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * A small HTTP/1.1 load driver: keep-alive connections, each with up to `pipelining` requests in
 * flight, sending exactly the requests asked for and waiting for every answer.
 *
 * The bench judges a route by the server's CPU time over a known number of requests, which
 * autocannon cannot give: with `amount` and pipelining it closes each connection as soon as it has
 * sent its share, dropping the answers still in flight (measured with autocannon 9: `amount: 1000`
 * at 100 connections × 10 counted 100 answers), and it notices the end on a 1-second tick. Here
 * the connections also stay open from one run to the next, so that a run does not pay the server
 * for accepting them.
 */

/** What a run saw. */
export interface LoadResult {
  /** Answers received: all the requests sent, or the run fails. */
  served: number;
  /** Answers by status code. */
  statuses: Map<number, number>;
  /** Milliseconds from sending each request to the end of its answer. */
  latencies: number[];
  /** Wall-clock seconds from the first request to the last answer. */
  seconds: number;
}

/** One run: `amount` requests to `path`, request `i` with the bearer token `token(i)` (none if `null`). */
export interface LoadRun {
  amount: number;
  path: string;
  token: (i: number) => string | null;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** A connection, and the send times of its requests in flight, oldest first. */
interface Connection {
  socket: Socket;
  sent: number[];
  pending: Buffer;
}

/** Connections to one server, kept open between runs; `close()` when done. */
export class LoadDriver {
  private readonly connections: Connection[] = [];
  private readonly host: string;
  private readonly port: number;
  /** The run under way: what each connection's data and close handlers report to. */
  private current: { onData(connection: Connection): void; fail(error: Error): void } | null = null;

  constructor(
    url: string,
    private readonly size: number,
    private readonly pipelining: number,
  ) {
    const { hostname, port } = new URL(url);
    this.host = hostname;
    this.port = Number(port);
  }

  /** Opens the connections (again, if the server closed any). */
  async open(): Promise<void> {
    const alive = this.connections.filter((connection) => !connection.socket.destroyed);
    this.connections.length = 0;
    this.connections.push(...alive);
    const opening: Promise<void>[] = [];
    while (this.connections.length < this.size) {
      const socket = connect(this.port, this.host);
      socket.setNoDelay(true);
      const connection: Connection = { socket, sent: [], pending: Buffer.alloc(0) };
      this.connections.push(connection);
      opening.push(new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject)));
      socket.on('data', (chunk: Buffer) => {
        connection.pending = connection.pending.length === 0 ? chunk : Buffer.concat([connection.pending, chunk]);
        this.current?.onData(connection);
      });
      socket.on('error', (error) => this.current?.fail(error));
      socket.on('close', () => {
        if (connection.sent.length > 0)
          this.current?.fail(
            new Error(`The server closed a connection with ${connection.sent.length} requests in flight`),
          );
      });
    }
    await Promise.all(opening);
  }

  /** Sends the run's requests, `pipelining` at a time on each connection; resolves with every answer. */
  async run({ amount, path, token }: LoadRun): Promise<LoadResult> {
    await this.open();
    const statuses = new Map<number, number>();
    const latencies: number[] = [];
    const prefix = `GET ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n`;
    const began = performance.now();
    let issued = 0;
    return new Promise<LoadResult>((resolve, reject) => {
      const done = (error: Error | null) => {
        this.current = null;
        if (!error)
          return resolve({
            served: latencies.length,
            statuses,
            latencies,
            seconds: (performance.now() - began) / 1000,
          });
        for (const connection of this.connections) connection.socket.destroy();
        reject(error);
      };
      const fill = (connection: Connection) => {
        let batch = '';
        while (connection.sent.length < this.pipelining && issued < amount) {
          const bearer = token(issued++);
          batch += `${prefix}${bearer === null ? '' : `Authorization: Bearer ${bearer}\r\n`}\r\n`;
          connection.sent.push(performance.now());
        }
        if (batch) connection.socket.write(batch, 'latin1');
      };
      this.current = {
        fail: done,
        onData: (connection) => {
          for (;;) {
            const { pending } = connection;
            const end = pending.indexOf(HEADER_END);
            if (end < 0) break;
            const head = pending.toString('latin1', 0, end);
            const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
            if (!length) return done(new Error(`An answer without Content-Length: ${head.split('\r\n')[0]}`));
            const total = end + HEADER_END.length + Number(length[1]);
            if (pending.length < total) break;
            const status = Number(head.slice(9, 12));
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            latencies.push(performance.now() - connection.sent.shift()!);
            connection.pending = pending.subarray(total);
          }
          if (latencies.length === amount) return done(null);
          fill(connection);
        },
      };
      if (amount === 0) return done(null);
      for (const connection of this.connections) fill(connection);
    });
  }

  close(): void {
    for (const connection of this.connections) connection.socket.destroy();
    this.connections.length = 0;
  }
}

/** The `p`th percentile of `values`. */
export function percentileOf(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
