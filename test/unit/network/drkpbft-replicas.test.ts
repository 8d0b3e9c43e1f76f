/** The DRKPBFT replica cluster the network writes: it cuts blocks as the channel's other modes do. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

describe('DRKPBFT replica cluster', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'emr-replicas-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads durations as configtx writes them, and names a bad one', async () => {
    const { durationMs } = await import('../../../network/src/drkpbft-replicas');
    expect([durationMs('250ms'), durationMs('2s'), durationMs('1.5s')]).toEqual([250, 2000, 1500]);
    expect(() => durationMs('2 minutes')).toThrow(/'2 minutes' is not a duration/);
  });

  it("batches a partial batch after the channel's BatchTimeout, in ticks, and only while no proposal is in flight", () => {
    jest.isolateModules(() => {
      process.env.EMR_NETWORK_DIR = dir;
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { writeReplicaCluster } = require('../../../network/src/drkpbft-replicas') as typeof import('../../../network/src/drkpbft-replicas');
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { topologyFor } = require('../../../network/src/topology') as typeof import('../../../network/src/topology');
        const t = topologyFor({ ordering: 'drkpbft', orderers: 4, wan: false, deliverProxies: false });
        const config = JSON.parse(readFileSync(writeReplicaCluster(t), 'utf8')) as { tickMs: number; options: { batchTimeoutTicks: number; partialBatchesWhenIdle: boolean; batchTimeoutFromLastProposal: boolean; batchSize: number } };
        expect(t.batchTimeout).toBe('250ms');
        expect(config.options).toMatchObject({ batchTimeoutTicks: 250 / config.tickMs, partialBatchesWhenIdle: true, batchTimeoutFromLastProposal: true, batchSize: 100 });
      } finally {
        delete process.env.EMR_NETWORK_DIR;
      }
    });
  });
});
