import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { deepFreeze } from '../../../consensus-plugin/src/core/freeze';
import { StateFile, STATE_LOG } from '../../../consensus-plugin/src/net/state-file';

describe('a replica state log with long strings as blobs', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'state-file-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const envelope = (i: number) => `envelope ${i} `.padEnd(4000, 'x');
  const logLines = () => readFileSync(path.join(dir, STATE_LOG), 'utf8').split('\n').filter(Boolean);
  const reopened = () => new StateFile(dir, false).load();

  it('restores exactly what was written; each long string is written once however many states hold it', async () => {
    const file = new StateFile(dir, true);
    const slots = [envelope(1), envelope(2)];
    await file.write({ view: 0, slots, short: 'abc' })();
    await file.write({ view: 1, slots: [...slots, envelope(3)], short: 'abc' })();
    await file.close();
    expect(new StateFile(dir, true).load()).toEqual({ view: 1, slots: [envelope(1), envelope(2), envelope(3)], short: 'abc' });
    expect(logLines().filter((l) => l.startsWith('b '))).toHaveLength(3);
    const states = logLines().filter((l) => l.startsWith('s '));
    expect(states).toHaveLength(2);
    expect(states[1]!.length).toBeLessThan(1000);
  });

  it('takes its snapshot when asked, not when the write runs', async () => {
    const file = new StateFile(dir, false);
    const state = { slots: [envelope(1)] };
    const write = file.write(state);
    state.slots.push(envelope(2));
    await write();
    await file.close();
    expect(reopened()).toEqual({ slots: [envelope(1)] });
  });

  it('after a torn last line (a crash mid-append) reads the state before it, and the next write is not swallowed by it', async () => {
    const first = new StateFile(dir, false);
    await first.write({ slots: [envelope(1)] })();
    await first.close();
    appendFileSync(path.join(dir, STATE_LOG), `b ${'0'.repeat(64)} "torn`);
    expect(reopened()).toEqual({ slots: [envelope(1)] });
    const second = new StateFile(dir, false);
    await second.write({ slots: [envelope(2)] })();
    await second.close();
    expect(reopened()).toEqual({ slots: [envelope(2)] });
  });

  it('skips a state line that fails its checksum, and names a blob the log lacks', async () => {
    const file = new StateFile(dir, false);
    await file.write({ n: 1, slots: [envelope(1)] })();
    await file.write({ n: 2, slots: [envelope(1)] })();
    await file.close();
    const log = path.join(dir, STATE_LOG);
    writeFileSync(log, readFileSync(log, 'utf8').replace('"n":2', '"n":3'));
    expect(reopened()).toEqual({ n: 1, slots: [envelope(1)] });
    writeFileSync(log, logLines().filter((l) => !l.startsWith('b ')).join('\n') + '\n');
    expect(reopened).toThrow(/refers to blob [0-9a-f]{64}, which its log does not hold/);
  });

  it('drops dead blobs and states once they outweigh the live ones', async () => {
    const file = new StateFile(dir, false, 256 * 1024);
    for (let i = 0; i < 600; i++) await file.write({ slots: [envelope(i)] })();
    await file.close();
    expect(statSync(path.join(dir, STATE_LOG)).size).toBeLessThan(300 * 1024);
    expect(reopened()).toEqual({ slots: [envelope(599)] });
  });

  it('reads a data directory of the layout before the log (state.json, blobs.log), and replaces it on the first write', async () => {
    const hash = createHash('sha256').update(envelope(1)).digest('hex');
    writeFileSync(path.join(dir, 'blobs.log'), `${hash} ${JSON.stringify(envelope(1))}\n`);
    writeFileSync(path.join(dir, 'state.json'), JSON.stringify({ view: 4, slots: [{ $blob: hash }] }));
    const file = new StateFile(dir, true);
    expect(file.load()).toEqual({ view: 4, slots: [envelope(1)] });
    await file.write({ view: 5, slots: [envelope(1)] })();
    await file.close();
    expect(existsSync(path.join(dir, 'state.json')) || existsSync(path.join(dir, 'blobs.log'))).toBe(false);
    expect(reopened()).toEqual({ view: 5, slots: [envelope(1)] });
  });

  describe('frozen objects', () => {
    /** A slot record as the PBFT instance keeps it: frozen, holding a pre-prepare with a batch of envelopes. */
    const record = (seq: number) => deepFreeze({ seq, accepted: { type: 'pre-prepare', seq, sig: 's'.repeat(88), payload: [{ client: `fabric:${seq}`, timestamp: 1, operation: envelope(seq) }] } });

    it('are serialised once per object and written once; the state refers to them, and they come back frozen and shared', async () => {
      const file = new StateFile(dir, false);
      const r1 = record(1);
      const r2 = record(2);
      await file.write({ view: 0, slots: [r1] })();
      const stringify = jest.spyOn(JSON, 'stringify');
      await file.write({ view: 0, slots: [r1, r2], again: r1 })();
      const second = stringify.mock.calls.length;
      stringify.mockClear();
      await file.write({ view: 1, slots: [r1, r2] })();
      // Every part of r1 and r2 was serialised before: only the state itself is now.
      expect(stringify.mock.calls.map(([v]) => v)).toEqual([{ view: 1, slots: [r1, r2] }]);
      stringify.mockRestore();
      // The state, then r2, its pre-prepare, the batch, the request and the envelope, each once; nothing of r1.
      expect(second).toBe(6);
      await file.close();
      // Per record: record, pre-prepare, batch, request (objects) and the envelope (a string).
      expect(logLines().filter((l) => l.startsWith('b '))).toHaveLength(10);
      expect(logLines().filter((l) => l.startsWith('s ')).pop()!.length).toBeLessThan(300);
      const loaded = reopened() as { slots: object[] };
      expect(loaded).toEqual({ view: 1, slots: [r1, r2] });
      expect(Object.isFrozen(loaded.slots[0])).toBe(true);
    });

    it('shared by two parts of a state come back as one object', async () => {
      const file = new StateFile(dir, false);
      const r1 = record(1);
      await file.write({ slots: [r1], again: r1 })();
      await file.close();
      const loaded = reopened() as { slots: object[]; again: object };
      expect(loaded.again).toBe(loaded.slots[0]);
    });

    it('reuse their text after a restart, and a compaction keeps what live objects refer to', async () => {
      const first = new StateFile(dir, false);
      await first.write({ slots: [record(1)] })();
      await first.close();
      const second = new StateFile(dir, false, 64 * 1024);
      const { slots } = second.load() as { slots: object[] };
      const before = logLines().length;
      await second.write({ slots })();
      expect(logLines().length).toBe(before + 1); // only a state line: the restored record's text is known
      // Enough dead records to compact, while the first record stays live throughout.
      for (let i = 2; i < 40; i++) await second.write({ slots: [slots[0], record(i)] })();
      await second.close();
      expect(statSync(path.join(dir, STATE_LOG)).size).toBeLessThan(200 * 1024);
      expect(reopened()).toEqual({ slots: [record(1), record(39)] });
    });

    it('written again once a compaction dropped them, when a later state holds them again', async () => {
      const file = new StateFile(dir, false, 16 * 1024);
      const old = record(1);
      await file.write({ slots: [old] })();
      for (let i = 2; i < 30; i++) await file.write({ slots: [record(i)] })();
      await file.write({ slots: [old] })();
      await file.close();
      expect(reopened()).toEqual({ slots: [record(1)] });
    });

    it('names an object blob the log lacks, and takes no object whose text does not match its hash', async () => {
      const file = new StateFile(dir, false);
      await file.write({ slots: [record(1)] })();
      await file.close();
      const log = path.join(dir, STATE_LOG);
      const tampered = readFileSync(log, 'utf8').replace('"seq":1,"sig"', '"seq":7,"sig"');
      writeFileSync(log, tampered);
      expect(reopened).toThrow(/refers to object [0-9a-f]{64}, which its log does not hold/);
    });

    it('changing a frozen record throws instead of diverging from what was persisted', () => {
      const r = record(1) as { seq: number };
      expect(() => {
        r.seq = 2;
      }).toThrow(TypeError);
    });
  });
});
