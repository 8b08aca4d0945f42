import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Results, Row } from '../bench/run.js';

/**
 * `npm run bench` in its smallest plan (`--smoke`: SQLite, 1,000 tokens, one round of a few
 * hundred requests per row): every row is produced, answered with the right status, and costs the
 * queries it should. Never its speed: this machine's speed says nothing about the code. Needs the
 * bench built (`npm test` builds it first).
 */
const root = join(import.meta.dirname, '..');

describe('the benchmark, in its smoke plan', () => {
  let dir: string;
  let results: Results;
  let markdown: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
    const [json, out] = [join(dir, 'results.json'), join(dir, 'RESULTS.md')];
    await promisify(execFile)(process.execPath, ['dist/bench/run.js', '--smoke', '--json', json, '--out', out], {
      cwd: root,
      timeout: 60_000,
    });
    results = JSON.parse(readFileSync(json, 'utf8')) as Results;
    markdown = readFileSync(out, 'utf8');
  }, 70_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('has every row, each answered with its status, its CPU measured and compared with its pair', () => {
    const routes = (server: Row['server']) =>
      results.rows.filter((row) => row.server === server).map((row) => row.route);
    expect(routes('express')).toEqual(
      expect.arrayContaining([
        expect.stringContaining('GET /__bench/ping (no guard)'),
        expect.stringContaining('GET /users/me, valid token (cache hit)'),
        expect.stringContaining('GET /reference/me: SHA-256 + Map'),
        expect.stringContaining('A/A control'),
        expect.stringContaining("AuthGuard('access-token')"),
        expect.stringContaining('JWT guard'),
        expect.stringContaining('garbage token'),
        expect.stringContaining('forged token'),
        expect.stringContaining('expired signed token'),
        expect.stringContaining('unknown signed token'),
        expect.stringContaining('GET /users/me, each token once (cold cache)'),
        expect.stringContaining('GET /reference/db/me, each token once'),
        expect.stringContaining('GET /users/me, valid token (cache off)'),
        expect.stringContaining('GET /reference/db/me: SHA-256 + 1 prepared statement'),
      ]),
    );
    expect(routes('fastify')).toEqual(
      expect.arrayContaining([
        expect.stringContaining('GET /__bench/ping (no guard)'),
        expect.stringContaining('(cache hit)'),
        expect.stringContaining('/reference/me'),
      ]),
    );
    for (const row of results.rows) {
      expect({ route: row.route, wrongStatus: row.wrongStatus }).toEqual({ route: row.route, wrongStatus: 0 });
      expect(row.requests).toBeGreaterThan(0);
      expect(row.cpu).toBeGreaterThan(0);
      if (row.pair) expect(Number.isFinite(row.ratio)).toBe(true);
    }
  });

  it('costs no query for a cache hit or a token refused on its face, one read per miss, and writes only to record a first use', () => {
    const by = (part: string) => results.rows.filter((row) => row.route.includes(part));
    // A token with maxUses takes a use at each request: one atomic write, which is its cost.
    for (const row of results.rows.filter((r) => r.stage === 'hit'))
      expect({ route: row.route, reads: row.readsPer1000, writes: row.writesPer1000 }).toEqual({
        route: row.route,
        reads: 0,
        writes: row.route.includes('maxUses') ? 1000 : 0,
      });
    for (const row of [...by('garbage'), ...by('forged'), ...by('expired')])
      expect({ route: row.route, reads: row.readsPer1000, writes: row.writesPer1000 }).toEqual({
        route: row.route,
        reads: 0,
        writes: 0,
      });
    // An unknown signed token is read once, then remembered for a few seconds: at most once per distinct token.
    for (const row of by('unknown signed token'))
      expect((row.readsPer1000 * row.requests) / 1000).toBeLessThanOrEqual(100);
    for (const row of results.rows.filter((r) => r.stage === 'miss')) {
      expect({ route: row.route, reads: row.readsPer1000 }).toEqual({ route: row.route, reads: 1000 });
      expect({ route: row.route, inserts: row.inserts, deletes: row.deletes }).toEqual({
        route: row.route,
        inserts: 0,
        deletes: 0,
      });
    }
    // Valid tokens cycling with the cache off were used a moment before: no use to record.
    for (const row of by('(cache off)')) expect(row.writesPer1000).toBe(0);
    // A token used for the first time records the use, once (not awaited by the request).
    for (const row of by('each token once (cold cache)')) expect(row.writesPer1000).toBeLessThanOrEqual(1000);
  });

  it('writes the tables and the targets, and measures memory past cache.max', () => {
    for (const heading of ['## Cache hits', '## Refusals', '## Cache misses', '## Memory', '## Targets'])
      expect(markdown).toContain(heading);
    expect(results.targets.filter((target) => target.group === 'Cache hit')).toHaveLength(2);
    expect(results.targets.filter((target) => target.group === 'Cache miss').length).toBeGreaterThanOrEqual(4);
    expect(markdown).toMatch(/\| (PASS|FAIL) \|/);
    const { points, max } = results.memory;
    expect(points.at(-1)!.verified).toBeGreaterThan(2 * max);
    expect(results.memory.bytesPerEntry).not.toBeNull();
  });
});
