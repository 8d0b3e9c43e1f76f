/**
 * The key generation centres' public record. After the distributed key generation each
 * centre (one per member org, role `kgc`) registers what it computed: its index, its
 * endpoint, the master public key, every centre's public share S_j and the qualified set.
 * Nobody can set the consortium's parameters alone: the SDK accepts the master public key
 * only when at least `threshold` centres registered the same parameters.
 */
import { G1, fromBase64url, type PublicParams } from '@emr/crypto';
import { ChaincodeError, ErrorCode, agreedKeyCentres, invalid, type Caller, type KeyCentre, type KeyCentreInput } from '@emr/protocol';
import { encode, indexPage, parseJsonObject, readJson, rejectUnknownFields, type StateStore, type TxContext } from './ledger';
import { checkEndpoint } from './proxies';

const CENTRE = 'emr.kgc';
const INDEX = 'emr.kgc~index';
const MAX_CENTRES = 32;
const POINT = /^[A-Za-z0-9_-]{64}$/; // 48 bytes of a compressed G1 point

function int(raw: Record<string, unknown>, field: string, min: number, max: number): number {
  const v = raw[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(field, `must be an integer from ${min} to ${max}`);
  return v;
}

export function parseKeyCentreInput(json: string): KeyCentreInput {
  const raw = parseJsonObject(json, 'key centre');
  rejectUnknownFields(raw, ['index', 'endpoint', 'n', 'threshold', 'mpk', 'publicShares', 'qual']);
  const n = int(raw, 'n', 1, MAX_CENTRES);
  const threshold = int(raw, 'threshold', 1, n);
  const index = int(raw, 'index', 1, n);
  const endpoint = checkEndpoint(raw.endpoint);
  if (typeof raw.mpk !== 'string' || !POINT.test(raw.mpk)) throw invalid('mpk', 'must be a base64url compressed G1 point');
  const shares = raw.publicShares;
  if (!Array.isArray(shares) || shares.length !== n || !shares.every((s) => typeof s === 'string' && POINT.test(s))) {
    throw invalid('publicShares', `must list the ${n} centres' public shares as base64url G1 points`);
  }
  const qual = raw.qual;
  if (!Array.isArray(qual) || qual.length < threshold || !qual.every((q, i) => Number.isInteger(q) && q >= 1 && q <= n && (i === 0 || q > qual[i - 1]))) {
    throw invalid('qual', `must list at least ${threshold} distinct centre indices in increasing order`);
  }
  return { index, endpoint, n, threshold, mpk: raw.mpk, publicShares: shares as string[], qual: qual as number[] };
}

export class KeyCentreStore {
  constructor(private readonly state: StateStore) {}

  /** A centre registers (or, after a new DKG, re-registers) its own index. */
  async register(input: KeyCentreInput, caller: Caller, tx: TxContext): Promise<KeyCentre> {
    const centre: KeyCentre = { ...input, mspId: caller.mspId, enrollmentId: caller.enrollmentId, registeredAt: tx.timestamp.toISOString(), txId: tx.txId };
    // (A point read, not the listing: Fabric forbids writes after a paginated query.)
    const indexKey = this.state.createCompositeKey(INDEX, [String(input.index)]);
    const holder = Buffer.from(await this.state.getState(indexKey)).toString('utf8');
    if (holder && holder !== caller.mspId) throw invalid('index', `centre ${input.index} is already held by ${holder}`);
    await this.state.putState(indexKey, Buffer.from(caller.mspId, 'utf8'));
    await this.state.putState(this.state.createCompositeKey(CENTRE, [caller.mspId]), encode(centre));
    return centre;
  }

  /**
   * The consortium's parameters as the centres agreed them (agreedKeyCentres), by point reads
   * only: a submit transaction may read them and still write.
   */
  async agreedParams(field: string): Promise<PublicParams> {
    const centres: KeyCentre[] = [];
    for (let i = 1, n = MAX_CENTRES; i <= n; i++) {
      const mspId = Buffer.from(await this.state.getState(this.state.createCompositeKey(INDEX, [String(i)]))).toString('utf8');
      const centre = mspId ? await readJson<KeyCentre>(this.state, CENTRE, [mspId]) : undefined;
      if (!centre) continue;
      centres.push(centre);
      n = Math.min(n, centre.n);
    }
    const agreed = agreedKeyCentres(centres);
    if (!agreed) throw new ChaincodeError(ErrorCode.NotFound, `the key centres have not agreed on parameters (${centres.length} registered)`, field);
    return { mpk: G1.fromBytes(fromBase64url(agreed[0]!.mpk, 'mpk')) };
  }

  async all(): Promise<KeyCentre[]> {
    const { items } = await indexPage(this.state, CENTRE, [], MAX_CENTRES, '', async (mspId) => (await readJson<KeyCentre>(this.state, CENTRE, [mspId]))!);
    return items.sort((a, b) => a.index - b.index);
  }
}
