/**
 * A start that fails part-way (here: the HTTP port is taken, the last thing to open) stops what it had
 * started: in the same process, a node on the same data dir starts right after.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OdysseyNode } from '../../composition/main.ts';
import { loadConfig } from '../../node/config.ts';
import { startNode } from '../support/node.ts';

describe('a failed start', () => {
  it('releases the data dir, the libp2p listeners and its timers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'odyssey-failed-start-'));
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const config = loadConfig({
        flags: { data: dir, host: '127.0.0.1', port, p2pPort: 0, p2pWsPort: 0, logLevel: 'silent' },
      });
      const failed = new OdysseyNode(config);
      await expect(failed.start()).rejects.toThrow(/EADDRINUSE/);
      expect(failed.host.status).toBe('stopped');
      expect(failed.db.level.status).toBe('closed');
      // The same data dir, in the same process: LevelDB would refuse a second open of a held lock.
      const next = await startNode({}, dir);
      expect((await fetch(`${next.url}/health`)).status).toBe(200);
      await next.stop();
    } finally {
      await new Promise((r) => blocker.close(r));
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
