/**
 * The orderer-only load (network/bench): its envelopes parsed back with Fabric's protos and
 * checked as an orderer and a peer check them, its statistics, and the load loop against
 * in-process fake orderers over TLS (quorum, rejections, duplicates, the closed-loop window).
 */
import { X509Certificate, createHash, verify } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { signers } from '@hyperledger/fabric-gateway';
import { common, msp, orderer, peer } from '@hyperledger/fabric-protos';
import { loadEnvelope, paddedTransaction, parseEnvelope, seekNewestEnvelope, txIdsOf, type SigningIdentity } from '../../../network/bench/envelopes';
import { bftQuorum, latencyStats, ordererLoad, steadyThroughput, type LoadOptions, type OrdererEndpoint } from '../../../network/bench/orderer-load';
import { testCa } from '../../support/test-certs';

const ca = testCa('HospitalAMSP');
const admin = ca.enroll('admin', 'admin');
const identity: SigningIdentity = { mspId: 'HospitalAMSP', credentials: Buffer.from(admin.certificate), signer: signers.newPrivateKeySigner(admin.privateKey) };
const publicKey = new X509Certificate(admin.certificate).publicKey;
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** The S of a DER ECDSA signature. */
function sOf(der: Uint8Array): bigint {
  const b = Buffer.from(der);
  const rLen = b[3]!;
  const sLen = b[5 + rLen]!;
  return BigInt(`0x${b.subarray(6 + rLen, 6 + rLen + sLen).toString('hex')}`);
}

describe('load envelopes', () => {
  it('are ENDORSER_TRANSACTIONs on the channel, with Fabric tx ids and a low-S signature of the creator', async () => {
    const { txId, envelope } = await loadEnvelope(identity, 'emr', 1024);
    const parsed = parseEnvelope(envelope.serializeBinary());
    expect(parsed.channelHeader.getType()).toBe(common.HeaderType.ENDORSER_TRANSACTION);
    expect(parsed.channelHeader.getChannelId()).toBe('emr');
    expect(Math.abs(parsed.channelHeader.getTimestamp()!.toDate().getTime() - Date.now())).toBeLessThan(5_000);
    const creator = parsed.signatureHeader.getCreator_asU8();
    const sid = msp.SerializedIdentity.deserializeBinary(creator);
    expect(sid.getMspid()).toBe('HospitalAMSP');
    expect(Buffer.from(sid.getIdBytes_asU8()).toString()).toBe(admin.certificate);
    const nonce = parsed.signatureHeader.getNonce_asU8();
    expect(nonce.length).toBe(24);
    expect(parsed.channelHeader.getTxId()).toBe(txId);
    expect(txId).toBe(createHash('sha256').update(nonce).update(creator).digest('hex'));

    const payload = envelope.getPayload_asU8();
    const signature = envelope.getSignature_asU8();
    expect(verify('sha256', payload, publicKey, signature)).toBe(true);
    expect(sOf(signature) <= P256_N / 2n).toBe(true);
    const tampered = Buffer.from(payload);
    tampered[tampered.length - 1]! ^= 1;
    expect(verify('sha256', tampered, publicKey, signature)).toBe(false);
  });

  it('carry a Transaction with no actions whose body is exactly the size asked', async () => {
    for (const size of [0, 2, 3, 129, 130, 131, 1024, 16_386, 16_387, 16_388, 20_000]) {
      const body = paddedTransaction(size);
      expect(body.length).toBe(size);
      expect(peer.Transaction.deserializeBinary(body).getActionsList()).toHaveLength(0);
    }
    const { envelope } = await loadEnvelope(identity, 'emr', 300);
    expect(parseEnvelope(envelope.serializeBinary()).payload.getData_asU8().length).toBe(300);
    expect(() => paddedTransaction(1)).toThrow(/cannot be padded/);
  });

  it('get fresh nonces, so tx ids never repeat', async () => {
    const ids = await Promise.all(Array.from({ length: 20 }, () => loadEnvelope(identity, 'emr', 0).then((e) => e.txId)));
    expect(new Set(ids).size).toBe(20);
  });

  it('the Deliver request seeks from the newest block to the end, blocking, signed by the same identity', async () => {
    const envelope = await seekNewestEnvelope(identity, 'emr');
    const parsed = parseEnvelope(envelope.serializeBinary());
    expect(parsed.channelHeader.getType()).toBe(common.HeaderType.DELIVER_SEEK_INFO);
    expect(parsed.channelHeader.hasTimestamp()).toBe(true); // Deliver refuses a request without one
    const seek = orderer.SeekInfo.deserializeBinary(parsed.payload.getData_asU8());
    expect(seek.getStart()!.hasNewest()).toBe(true);
    expect(seek.getStop()!.getSpecified()!.getNumber()).toBe(Number.MAX_SAFE_INTEGER);
    expect(seek.getBehavior()).toBe(orderer.SeekInfo.SeekBehavior.BLOCK_UNTIL_READY);
    expect(verify('sha256', envelope.getPayload_asU8(), publicKey, envelope.getSignature_asU8())).toBe(true);
  });

  it('txIdsOf lists the tx ids of a block in block order', async () => {
    const envs = await Promise.all([1, 2, 3].map(() => loadEnvelope(identity, 'emr', 10)));
    const data = new common.BlockData();
    data.setDataList(envs.map((e) => e.envelope.serializeBinary()));
    const block = new common.Block();
    block.setData(data);
    expect(txIdsOf(block)).toEqual(envs.map((e) => e.txId));
  });
});

describe('load statistics', () => {
  it('the latency summary takes nearest-rank quantiles', () => {
    expect(latencyStats([30, 10, 20])).toEqual({ p50: 20, p99: 30, mean: 20, max: 30 });
  });

  it('throughput counts the blocks after the first over the span between first and last', () => {
    const blocks = [
      { at: 1_000, txs: 50 },
      { at: 1_500, txs: 100 },
      { at: 2_000, txs: 100 },
    ];
    expect(steadyThroughput(blocks, 900)).toBeCloseTo(200);
    expect(steadyThroughput([{ at: 1_500, txs: 10 }], 1_000)).toBeCloseTo(20);
    expect(steadyThroughput([], 0)).toBe(0);
  });

  it("Fabric's BFT quorum", () => {
    expect([4, 5, 6, 7, 10].map(bftQuorum)).toEqual([3, 4, 4, 5, 7]);
  });
});

// ---------------------------------------------------------------- fake orderers

/**
 * Orderers that share one ledger, cut into a block every 20 ms: a tx id is ordered once
 * however many orderers receive it, or twice in a row with `orderTwice`. Orderers in
 * `refuse` refuse everything; `refuseEvery` makes orderer k refuse every m-th envelope.
 * After a refusal the stream ends, as Fabric's does.
 */
function fakeOrdering(behaviour: { refuse?: number[]; refuseEvery?: { orderer: number; m: number }; orderTwice?: boolean }) {
  const tlsCa = testCa('OrdererMSP');
  const queue: Uint8Array[] = [];
  const seen = new Set<string>();
  const subscribers: grpc.ServerDuplexStream<common.Envelope, orderer.DeliverResponse>[] = [];
  let maxBatch = 0;
  const blockOf = (data: Uint8Array[]) => {
    const blockData = new common.BlockData();
    blockData.setDataList(data);
    const block = new common.Block();
    block.setData(blockData);
    const r = new orderer.DeliverResponse();
    r.setBlock(block);
    return r;
  };
  const cutter = setInterval(() => {
    if (queue.length === 0) return;
    const batch = queue.splice(0);
    maxBatch = Math.max(maxBatch, batch.length);
    for (const s of subscribers) s.write(blockOf(batch));
  }, 20);
  const servers: grpc.Server[] = [];
  let received = 0;
  const start = async (k: number): Promise<OrdererEndpoint> => {
    const name = `orderer${k}.orderer.emr`;
    const tls = tlsCa.enroll(name, 'orderer');
    const server = new grpc.Server();
    server.addService(orderer.AtomicBroadcastService, {
      broadcast: (call: grpc.ServerDuplexStream<common.Envelope, orderer.BroadcastResponse>) => {
        let ended = false;
        call.on('data', (env: common.Envelope) => {
          if (ended) return;
          const r = new orderer.BroadcastResponse();
          const every = behaviour.refuseEvery?.orderer === k ? behaviour.refuseEvery.m : 0;
          if (behaviour.refuse?.includes(k) || (every > 0 && ++received % every === 0)) {
            r.setStatus(common.Status.SERVICE_UNAVAILABLE);
            call.write(r);
            ended = true;
            call.end();
            return;
          } else {
            const txId = parseEnvelope(env.serializeBinary()).channelHeader.getTxId();
            if (!seen.has(txId)) queue.push(...Array<Uint8Array>(behaviour.orderTwice ? 2 : 1).fill(env.serializeBinary()));
            seen.add(txId);
            r.setStatus(common.Status.SUCCESS);
          }
          call.write(r);
        });
        call.on('end', () => call.end());
      },
      deliver: (call: grpc.ServerDuplexStream<common.Envelope, orderer.DeliverResponse>) => {
        call.once('data', () => {
          call.write(blockOf([])); // the newest block, from before the load
          subscribers.push(call);
        });
        call.on('cancelled', () => subscribers.splice(subscribers.indexOf(call), 1));
      },
    });
    const credentials = grpc.ServerCredentials.createSsl(null, [
      { private_key: Buffer.from(tls.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string), cert_chain: Buffer.from(tls.certificate) },
    ]);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (e, p) => (e ? reject(e) : resolve(p))));
    servers.push(server);
    return { name, address: `127.0.0.1:${port}`, tlsHostname: name };
  };
  return {
    tlsRootCert: Buffer.from(tlsCa.cert.toString()),
    start,
    maxBatch: () => maxBatch,
    stop() {
      clearInterval(cutter);
      for (const s of servers) s.forceShutdown();
    },
  };
}

async function withFakes(behaviour: Parameters<typeof fakeOrdering>[0], n: number, run: (base: Omit<LoadOptions, 'quorum' | 'count'>, fake: ReturnType<typeof fakeOrdering>) => Promise<void>) {
  const fake = fakeOrdering(behaviour);
  try {
    const targets: OrdererEndpoint[] = [];
    for (let k = 1; k <= n; k++) targets.push(await fake.start(k));
    await run({ channel: 'emr', identity, tlsRootCert: fake.tlsRootCert, targets, deliverFrom: targets[0]!, bodyBytes: 100, maxSeconds: 10, drainSeconds: 5 }, fake);
  } finally {
    fake.stop();
  }
}

describe('the load against fake orderers', () => {
  it('counts an envelope accepted on a quorum of SUCCESS replies and times it to its block', async () => {
    await withFakes({ refuse: [4] }, 4, async (base) => {
      const r = await ordererLoad({ ...base, quorum: 3, count: 100, rate: 1000, streams: 'each' });
      expect(r).toMatchObject({ sent: 100, accepted: 100, rejected: 0, delivered: 100, missing: 0, duplicates: 0, otherTxs: 0 });
      expect(r.replies).toEqual({ SUCCESS: 300, SERVICE_UNAVAILABLE: 100 });
      expect(r.errors).toEqual([]);
      expect(r.blocks).toBeGreaterThan(1);
      expect(r.txsPerBlock.mean * r.blocks).toBeCloseTo(100);
      expect(r.latencyMs.p50).toBeGreaterThan(0);
      expect(r.latencyMs.p99).toBeGreaterThanOrEqual(r.latencyMs.p50);
      expect(r.throughput).toBeGreaterThan(0);
    });
  }, 20_000);

  it('a pipelined stream reports what the orderer left unread after a refusal, and carries on on a new stream', async () => {
    await withFakes({ refuseEvery: { orderer: 2, m: 7 } }, 4, async (base) => {
      const r = await ordererLoad({ ...base, quorum: 3, count: 100, rate: 200, streams: 2 });
      expect(r).toMatchObject({ sent: 100, accepted: 100, rejected: 0, delivered: 100, missing: 0, streams: 2 });
      const { SUCCESS, SERVICE_UNAVAILABLE, UNREAD_AFTER_REFUSAL, ...rest } = r.replies;
      expect(rest).toEqual({});
      expect(SUCCESS! + SERVICE_UNAVAILABLE! + (UNREAD_AFTER_REFUSAL ?? 0)).toBe(400);
      // Each stream ends at its first refusal: more refusals than streams, and most of orderer2's
      // envelopes answered, mean later envelopes went on new streams.
      expect(SERVICE_UNAVAILABLE).toBeGreaterThanOrEqual(3);
      expect(SUCCESS).toBeGreaterThanOrEqual(300 + 50);
      expect(r.errors).toEqual([]);
    });
  }, 20_000);

  it('counts it rejected once the quorum is out of reach', async () => {
    await withFakes({ refuse: [3, 4] }, 4, async (base) => {
      const r = await ordererLoad({ ...base, quorum: 3, count: 20, rate: 500, drainSeconds: 1 });
      expect(r).toMatchObject({ sent: 20, accepted: 0, rejected: 20, missing: 0 });
    });
  }, 20_000);

  it('reports duplicates when a tx is ordered twice', async () => {
    await withFakes({ orderTwice: true }, 1, async (base) => {
      const r = await ordererLoad({ ...base, quorum: 1, count: 30, rate: 500 });
      expect(r).toMatchObject({ delivered: 30, duplicates: 30 });
    });
  }, 20_000);

  it('closed loop: never more than the window outstanding', async () => {
    await withFakes({}, 1, async (base, fake) => {
      const r = await ordererLoad({ ...base, quorum: 1, count: 200, window: 10 });
      expect(r).toMatchObject({ sent: 200, delivered: 200, missing: 0 });
      expect(fake.maxBatch()).toBeLessThanOrEqual(10);
      expect(r.blocks).toBeGreaterThanOrEqual(20);
    });
  }, 20_000);

  it('refuses options that name both or neither loop', async () => {
    await expect(ordererLoad({ channel: 'emr', identity, tlsRootCert: Buffer.alloc(0), targets: [], deliverFrom: { name: 'x', address: 'x', tlsHostname: 'x' }, quorum: 1, count: 1, bodyBytes: 0, maxSeconds: 1, drainSeconds: 0 })).rejects.toThrow(/exactly one of rate/);
  });
});
