/**
 * The re-encryption proxy registry (seed 003: delegated proof of stake). A member org's
 * proxy identity (role `proxy`, issued by the org's CA) registers itself, so the chain
 * keeps the public key of its certificate. Member orgs' admins vote stake for proxies
 * from a fixed budget each. The n proxies of a new grant are drawn deterministically from
 * stake × reputation with a seed fixed by the grant, so anyone can recompute the draw.
 * A fragment a proxy signed that fails its proof costs reputation, and then its seat.
 */
import { ChaincodeError, ErrorCode, invalid, type Caller, type Party, type Proxy } from '@emr/protocol';
import { encode, found, readJson, sha256Hex, type StateStore, type TxContext } from './ledger';

export const MAX_PROXIES = 64;
/** Stake each member org distributes among proxies. */
export const STAKE_BUDGET = 100;
export const REPUTATION_MAX = 1000;
/** Lost per proven bad fragment. */
export const FAULT_PENALTY = 200;
/** Below this a proxy is suspended: it is never elected again. */
export const SUSPEND_BELOW = 500;

const PROXY = 'emr.proxy';
const PROXY_SET = 'emr.proxy-set';
const VOTE = 'emr.stake';
const VOTER = 'emr.stake~voter';
const FAULT = 'emr.fault';

/**
 * The registry's key of a party, `MSP/enrollmentId`: the stored set of proxies, the order
 * the election walks, the proxy events and the chaincode's messages use it, as they have
 * since the registry was first deployed. It is not a party's text form (that is
 * @emr/protocol's encodeParty), and parties are compared with sameParty, never by it.
 */
export const registryKey = (p: Party): string => `${p.mspId}/${p.enrollmentId}`;

export function checkEndpoint(value: unknown): string {
  const port = typeof value === 'string' && value.length <= 200 ? /^(?:grpcs?|https?):\/\/[A-Za-z0-9.-]+:(\d{1,5})(?:\/[A-Za-z0-9._~/-]*)?$/.exec(value)?.[1] : undefined;
  if (port === undefined || Number(port) < 1 || Number(port) > 65_535) {
    throw invalid('endpoint', 'must be a URL like https://127.0.0.1:7300 with a port from 1 to 65535 (at most 200 characters)');
  }
  return value as string;
}

/**
 * Draws n distinct proxies: round i picks with probability proportional to stake ×
 * reputation among those not yet picked, using SHA-256(seed, i) reduced modulo the total
 * weight. Integer arithmetic only, so every peer and every auditor gets the same list.
 */
export function electProxies(proxies: Proxy[], seed: string, n: number): Party[] {
  const pool = proxies
    .filter((p) => p.status === 'active' && p.stake > 0 && p.reputation > 0)
    .sort((a, b) => (registryKey(a) < registryKey(b) ? -1 : 1))
    .map((p) => ({ party: { mspId: p.mspId, enrollmentId: p.enrollmentId }, weight: BigInt(p.stake) * BigInt(p.reputation) }));
  if (pool.length < n) throw new ChaincodeError(ErrorCode.Conflict, `only ${pool.length} proxies are eligible (active, with stake); ${n} asked for`, 'proxies');
  const elected: Party[] = [];
  for (let round = 0; round < n; round++) {
    const total = pool.reduce((sum, p) => sum + p.weight, 0n);
    let r = BigInt(`0x${sha256Hex(`emr-proxy-election:v1\u0000${seed}\u0000${round}`)}`) % total;
    let i = 0;
    while (r >= pool[i]!.weight) r -= pool[i++]!.weight;
    elected.push(pool[i]!.party);
    pool.splice(i, 1);
  }
  return elected;
}

/** The election seed of a grant: fixed by the grant and its consent. */
export const electionSeed = (grantId: string, consentId: string): string => sha256Hex(`emr-election-seed:v1\u0000${consentId}\u0000${grantId}`);

export class ProxyStore {
  constructor(private readonly state: StateStore) {}

  async get(p: Party): Promise<Proxy | undefined> {
    return readJson<Proxy>(this.state, PROXY, [p.mspId, p.enrollmentId]);
  }

  async require(p: Party, field = 'proxy'): Promise<Proxy> {
    return found(await this.get(p), field, `proxy '${registryKey(p)}' is not registered`);
  }

  private put = (p: Proxy) => this.state.putState(this.state.createCompositeKey(PROXY, [p.mspId, p.enrollmentId]), encode(p));

  /** Every registered proxy's key, bounded by MAX_PROXIES: one read, no range scan. */
  private async ids(): Promise<string[]> {
    return (await readJson<string[]>(this.state, PROXY_SET, [])) ?? [];
  }

  /** A registered proxy adds its SM2 key (checked by sm2-keys.ts first); once set it stays. */
  async registerSm2Key(proxy: Proxy, publicKey: string): Promise<Proxy> {
    if (proxy.sm2PublicKey === publicKey) return proxy;
    if (proxy.sm2PublicKey) throw new ChaincodeError(ErrorCode.Conflict, `proxy '${registryKey(proxy)}' already has another SM2 key; it stays, so the fragments it signed keep their meaning`, 'publicKey');
    const updated: Proxy = { ...proxy, sm2PublicKey: publicKey };
    await this.put(updated);
    return updated;
  }

  async all(): Promise<Proxy[]> {
    const out: Proxy[] = [];
    for (const id of await this.ids()) {
      const [mspId, enrollmentId] = id.split('/') as [string, string];
      out.push((await this.get({ mspId, enrollmentId }))!);
    }
    return out;
  }

  async register(caller: Caller, endpoint: string, publicKey: string, tx: TxContext): Promise<Proxy> {
    if (await this.get(caller)) throw new ChaincodeError(ErrorCode.Conflict, `proxy '${registryKey(caller)}' is already registered`, 'proxy');
    const ids = await this.ids();
    if (ids.length >= MAX_PROXIES) throw new ChaincodeError(ErrorCode.Conflict, `the registry holds at most ${MAX_PROXIES} proxies`, 'proxy');
    const proxy: Proxy = {
      mspId: caller.mspId,
      enrollmentId: caller.enrollmentId,
      endpoint,
      publicKey,
      stake: 0,
      reputation: REPUTATION_MAX,
      status: 'active',
      faults: 0,
      registeredAt: tx.timestamp.toISOString(),
      txId: tx.txId,
    };
    await this.put(proxy);
    await this.state.putState(this.state.createCompositeKey(PROXY_SET, []), encode([...ids, registryKey(proxy)].sort()));
    return proxy;
  }

  /** Sets the voting org's stake on a proxy (0 withdraws), within the org's budget. */
  async vote(voterMsp: string, target: Party, amount: number): Promise<{ proxy: Proxy; voterTotal: number }> {
    if (!Number.isSafeInteger(amount) || amount < 0 || amount > STAKE_BUDGET) throw invalid('amount', `must be an integer from 0 to ${STAKE_BUDGET}`);
    const proxy = await this.require(target);
    const voteKey = this.state.createCompositeKey(VOTE, [voterMsp, target.mspId, target.enrollmentId]);
    const previous = (await readJson<number>(this.state, VOTE, [voterMsp, target.mspId, target.enrollmentId])) ?? 0;
    const total = ((await readJson<number>(this.state, VOTER, [voterMsp])) ?? 0) - previous + amount;
    if (total > STAKE_BUDGET) throw invalid('amount', `${voterMsp} would stake ${total} in all; its budget is ${STAKE_BUDGET}`);
    const updated = { ...proxy, stake: proxy.stake - previous + amount };
    await this.state.putState(voteKey, encode(amount));
    await this.state.putState(this.state.createCompositeKey(VOTER, [voterMsp]), encode(total));
    await this.put(updated);
    return { proxy: updated, voterTotal: total };
  }

  /** Records a proven bad fragment once (by its hash) and lowers the proxy's reputation. */
  async penalize(proxy: Proxy, evidenceHash: string): Promise<Proxy> {
    const key = this.state.createCompositeKey(FAULT, [proxy.mspId, proxy.enrollmentId, evidenceHash]);
    const seen = await this.state.getState(key);
    if (seen && seen.length > 0) throw new ChaincodeError(ErrorCode.Conflict, 'this fragment was already reported', 'fragment');
    const reputation = Math.max(0, proxy.reputation - FAULT_PENALTY);
    const updated: Proxy = { ...proxy, reputation, faults: proxy.faults + 1, status: reputation < SUSPEND_BELOW ? 'suspended' : proxy.status };
    await this.state.putState(key, Buffer.from([1]));
    await this.put(updated);
    return updated;
  }
}
