import { describe, expect, it } from '@jest/globals';
import type { TokenUse } from './token-queries.js';
import { UseRecorder } from './use-recorder.js';

describe('UseRecorder', () => {
  const at = (ms: number) => new Date(ms);

  it('writes one use a token, the latest, keeping what only an earlier one carried', async () => {
    const written: TokenUse[][] = [];
    const recorder = new UseRecorder(async (uses) => void written.push(uses));
    recorder.record({
      id: 't',
      at: at(1),
      idleExpiresAt: at(100),
      ip: '10.0.0.1',
      userAgent: 'first',
      firstOf: { userId: 'u' },
    });
    recorder.record({
      id: 't',
      at: at(2),
      idleExpiresAt: null,
      ip: '10.0.0.2',
      userAgent: 'second',
      scopesUsed: { a: 2 },
    });
    recorder.record({ id: 't', at: at(3), idleExpiresAt: null, ip: '10.0.0.3', userAgent: 'third' });
    await recorder.flush();
    expect(written).toEqual([
      [
        {
          id: 't',
          at: at(3),
          ip: '10.0.0.3',
          userAgent: 'third',
          // The idle expiry, the map of scopes and the mark of a first use of the earlier uses.
          idleExpiresAt: at(100),
          scopesUsed: { a: 2 },
          firstOf: { userId: 'u' },
        },
      ],
    ]);
  });

  it('takes the latest map of exercised scopes, which holds the earlier', async () => {
    const written: TokenUse[][] = [];
    const recorder = new UseRecorder(async (uses) => void written.push(uses));
    recorder.record({ id: 't', at: at(1), idleExpiresAt: null, scopesUsed: { a: 1 } });
    recorder.record({ id: 't', at: at(1), idleExpiresAt: null, scopesUsed: { a: 1, b: 1 } });
    await recorder.flush();
    expect(written[0]![0]!.scopesUsed).toEqual({ a: 1, b: 1 });
  });
});
