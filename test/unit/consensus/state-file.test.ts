import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StateFile } from '../../../consensus-plugin/src/net/state-file';

describe('a replica state file with long strings as blobs', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'state-file-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const envelope = (i: number) => `envelope ${i} `.padEnd(4000, 'x');

  it('restores exactly what was written; each long string is written once however many states hold it', async () => {
    const file = new StateFile(dir, true);
    const slots = [envelope(1), envelope(2)];
    await file.write({ view: 0, slots, short: 'abc' })();
    await file.write({ view: 1, slots: [...slots, envelope(3)], short: 'abc' })();
    expect(new StateFile(dir, true).load()).toEqual({ view: 1, slots: [envelope(1), envelope(2), envelope(3)], short: 'abc' });
    expect(statSync(path.join(dir, 'state.json')).size).toBeLessThan(1000);
    expect(readFileSync(path.join(dir, 'blobs.log'), 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
  });

  it('takes its snapshot when asked, not when the write runs', async () => {
    const file = new StateFile(dir, false);
    const state = { slots: [envelope(1)] };
    const write = file.write(state);
    state.slots.push(envelope(2));
    await write();
    expect(new StateFile(dir, false).load()).toEqual({ slots: [envelope(1)] });
  });

  it('ignores a torn last blob line (a crash mid-append), and names a blob the log lacks', async () => {
    const file = new StateFile(dir, false);
    await file.write({ slots: [envelope(1)] })();
    appendFileSync(path.join(dir, 'blobs.log'), 'abc123 "torn');
    expect(new StateFile(dir, false).load()).toEqual({ slots: [envelope(1)] });
    rmSync(path.join(dir, 'blobs.log'));
    expect(() => new StateFile(dir, false).load()).toThrow(/refers to blob [0-9a-f]{64}, which .*blobs\.log does not hold/);
  });

  it('drops dead blobs once they outweigh the live ones', async () => {
    const file = new StateFile(dir, false, 256 * 1024);
    for (let i = 0; i < 600; i++) await file.write({ slots: [envelope(i)] })();
    expect(statSync(path.join(dir, 'blobs.log')).size).toBeLessThan(300 * 1024);
    expect(new StateFile(dir, false).load()).toEqual({ slots: [envelope(599)] });
  });
});
