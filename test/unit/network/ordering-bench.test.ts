import { quantile } from '../../../network/bench/stats';
import { bytesBetween, parseSockets, roleOf } from '../../../network/bench/ordering-probe';
import { KILLED, summarise } from '../../../network/bench/ordering-report';
import type { ModeResult, SaturatedStep, Step } from '../../../network/bench/ordering';

// Two ordering nodes (orderer1: orderer pid 10 and its replica pid 11; orderer2: pid 20) and a peer (pid 30).
const processes = new Map([
  [10, 'orderer1'],
  [11, 'orderer1'],
  [20, 'orderer2'],
]);
const socket = (local: string, remote: string, name: string, pid: number, sent: number) =>
  `0      0      ${local} ${remote} users:(("${name}",pid=${pid},fd=9))\n\t cubic wscale:7,7 rto:204 bytes_sent:${sent} bytes_acked:${sent + 1} bytes_received:5 segs_out:3`;

describe('bytes between orderers, from the kernel socket counters', () => {
  const at = (n: number) =>
    [
      socket('127.0.0.1:40001', '127.0.0.1:7150', 'orderer', 10, 1000 * n), // orderer1 → orderer2
      socket('127.0.0.1:7150', '127.0.0.1:40001', 'orderer', 20, 300 * n), // orderer2 → orderer1, the same connection
      socket('127.0.0.1:40002', '127.0.0.1:11052', 'orderer', 10, 99_999), // orderer1 ↔ its own replica: inside one node
      socket('127.0.0.1:11052', '127.0.0.1:40002', 'node', 11, 99_999),
      socket('127.0.0.1:40003', '127.0.0.1:7050', 'peer', 30, 77_777), // a peer delivering from orderer1
      socket('127.0.0.1:7050', '127.0.0.1:40003', 'orderer', 10, 55_555),
    ].join('\n');

  it('counts each byte once, by its sender, only between different ordering nodes', () => {
    const sample = parseSockets(at(1), processes);
    expect([...sample.sent.values()].sort((a, b) => a - b)).toEqual([300, 1000]);
  });

  it('diffs two samples; a connection opened in between counts whole', () => {
    const before = parseSockets(at(1), processes);
    const later = `${at(3)}\n${socket('127.0.0.1:40009', '127.0.0.1:11152', 'node', 11, 400)}\n${socket('127.0.0.1:11152', '127.0.0.1:40009', 'orderer', 20, 0)}`;
    expect(bytesBetween(before, parseSockets(later, processes))).toBe(2000 + 600 + 400);
  });
});

describe('the ordering summary', () => {
  const step = (workload: string, offeredPerS: number, throughputPerS: number, p50Ms: number, bytesPerBlock = 1000): Step =>
    ({ workload, offeredPerS, throughputPerS, p50Ms, p99Ms: 2 * p50Ms, bytesPerBlock, orderingCores: 0.5, seconds: 10, submitted: 0, committed: 0, failed: {}, skipped: 0, bytesBetweenOrderers: 0, blocks: 0, txPerBlock: 0 }) as Step;
  const saturated = (workload: string, throughputPerS: number): SaturatedStep =>
    ({
      workload, backlog: 64, windowSeconds: 12, committed: 0, failed: {}, throughputPerS, p50Ms: 500, p99Ms: 900, seconds: 16, orderingCores: 0.5, bytesBetweenOrderers: 0, blocks: 0,
      coresByRole: { orderers: 0.2, replicas: 0.3, peers: 0.9, chaincode: 0.3, client: 0.2, other: 0 },
    }) as SaturatedStep;
  const mode = (ordering: ModeResult['ordering'], steps: Step[], closedLoop: SaturatedStep[] = [], round = 1): ModeResult => ({ ordering, orderers: 4, upSeconds: 30, round, steps, saturated: closedLoop });

  it('gives the saturated and open-loop peak ratios, p50 at the lowest and at the highest shared sustained rate, and upload over the floor', () => {
    const s = summarise([
      mode('bft', [step('PutState (floor)', 50, 50, 400), step('PutState (floor)', 100, 98, 500), step('PutState (floor)', 200, 120, 3000), step('upload index', 50, 49, 450)], [saturated('PutState (floor)', 110), saturated('upload index', 100)]),
      mode('drkpbft', [step('PutState (floor)', 50, 50, 300, 500), step('PutState (floor)', 100, 95, 600, 500), step('PutState (floor)', 200, 150, 2000, 500), step('upload index', 50, 48, 320)], [saturated('PutState (floor)', 99), saturated('upload index', 90)]),
    ]);
    const floor = s['PutState (floor)']!.ratios;
    expect(floor['drkpbft/bft saturated throughput']).toBeCloseTo(99 / 110);
    expect(floor['drkpbft/bft open-loop peak throughput']).toBeCloseTo(150 / 120);
    expect(floor['drkpbft/bft p50 at the lowest rate']).toBeCloseTo(300 / 400);
    expect(floor['drkpbft/bft p50 at 100/s']).toBeCloseTo(600 / 500);
    expect(floor['drkpbft/bft bytes between orderers per block']).toBeCloseTo(0.5);
    expect(s['upload index']!.ratios['drkpbft upload/PutState saturated throughput']).toBeCloseTo(90 / 99);
    expect(s['upload index']!.ratios['drkpbft upload/PutState open-loop peak throughput']).toBeCloseTo(48 / 150);
    expect(s['upload index']!.modes.bft?.saturatedPerS).toBe(100);
    // CPU per committed transaction at saturation: each component's cores over the throughput.
    expect(s['upload index']!.modes.bft?.saturatedCpuMsPerTx?.peers).toBeCloseTo((0.9 * 1000) / 100);
    expect(s['PutState (floor)']!.modes.drkpbft?.saturatedCpuMsPerTx?.replicas).toBeCloseTo((0.3 * 1000) / 99);
  });

  it('splits the upload\'s cost over the floor at the read: the floor with a read over the floor, the upload over both', () => {
    const floor = 'PutState (floor)';
    const read = 'GetState+PutState (floor with a read)';
    const upload = 'upload index (emr:CreateRecord)';
    const s = summarise([mode('bft', [step(floor, 50, 50, 400), step(read, 50, 50, 410), step(upload, 50, 40, 450)], [saturated(floor, 100), saturated(read, 90), saturated(upload, 81)])]);
    expect(s[read]!.ratios['bft GetState+PutState/PutState saturated throughput']).toBeCloseTo(0.9);
    expect(s[upload]!.ratios['bft upload/PutState saturated throughput']).toBeCloseTo(0.81);
    expect(s[upload]!.ratios['bft upload/GetState+PutState saturated throughput']).toBeCloseTo(0.9);
    expect(s[upload]!.ratios['bft upload/GetState+PutState open-loop peak throughput']).toBeCloseTo(40 / 50);
  });

  it('gives each saturated ratio round by round too: each round\'s windows averaged, rounds paired in order', () => {
    const floor = 'PutState (floor)';
    const upload = 'upload index (emr:CreateRecord)';
    const s = summarise([
      mode('bft', [step(floor, 50, 50, 400), step(upload, 50, 50, 400)], [saturated(floor, 100), saturated(upload, 90), saturated(upload, 70), saturated(floor, 60)]),
      mode('bft', [], [saturated(floor, 50), saturated(upload, 45), saturated(upload, 45), saturated(floor, 50)], 2),
    ]);
    expect(s[floor]!.modes.bft?.saturatedRoundsPerS).toEqual([80, 50]);
    expect(s[upload]!.roundRatios['bft upload/PutState saturated throughput']).toEqual([1, 0.9]);
    expect(s[upload]!.ratios['bft upload/PutState saturated throughput']).toBeCloseTo(62.5 / 65);
  });

  it('with rounds, compares the means of each mode\'s closed-loop steps over the rounds', () => {
    const floor = 'PutState (floor)';
    const s = summarise([
      mode('bft', [step(floor, 50, 50, 400)], [saturated(floor, 100)]),
      mode('drkpbft', [step(floor, 50, 50, 300)], [saturated(floor, 80)]),
      mode('drkpbft', [], [saturated(floor, 100)], 2),
      mode('bft', [], [saturated(floor, 120)], 2),
    ]);
    expect(s[floor]!.modes.drkpbft?.saturatedWindowsPerS).toEqual([80, 100]);
    expect(s[floor]!.modes.drkpbft?.saturatedRoundsPerS).toEqual([80, 100]);
    expect(s[floor]!.roundRatios['drkpbft/bft saturated throughput']).toEqual([0.8, 100 / 120]);
    expect(s[floor]!.ratios['drkpbft/bft saturated throughput']).toBeCloseTo(90 / 110);
    expect(s[floor]!.ratios['drkpbft/bft p50 at the lowest rate']).toBeCloseTo(300 / 400);
  });

  it('compares each workload with one orderer killed against the same workload intact', () => {
    const s = summarise([
      mode('bft', [step('PutState (floor)', 50, 50, 400), step('PutState (floor)', 100, 90, 500), step(`PutState (floor)${KILLED}`, 50, 45, 800), step(`PutState (floor)${KILLED}`, 100, 60, 1500)]),
    ]);
    expect(s[`PutState (floor)${KILLED}`]!.ratios['bft killed/intact open-loop peak throughput']).toBeCloseTo(60 / 90);
    expect(s[`PutState (floor)${KILLED}`]!.ratios['bft killed/intact p50 at the lowest rate']).toBeCloseTo(2);
    expect(s['PutState (floor)']!.ratios['bft killed/intact open-loop peak throughput']).toBeUndefined();
  });

  it('tells each daemon of the network its component by name', () => {
    expect(['orderer3', 'orderer3-drkpbft', 'peer0.hospitala.emr', 'chaincode-HospitalA', 'kgc-HospitalB', 'ipfs-HospitalA'].map(roleOf)).toEqual(['orderers', 'replicas', 'peers', 'chaincode', 'other', 'other']);
  });

  it('quantiles are nearest-rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([quantile(xs, 0.5), quantile(xs, 0.99), quantile(xs, 1), quantile([7], 0.99), quantile([], 0.5)]).toEqual([50, 99, 100, 7, NaN]);
  });
});
