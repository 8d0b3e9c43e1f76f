/**
 * What the malformed calls must leave as it was, and how it is measured: every member peer's
 * chain (its height and the hash of its last block, from the peer itself through qscc
 * GetChainInfo), the records, consents and lists the calls aimed at (read back through the
 * chaincode), and the health of every node of the network.
 */
import { common } from '@hyperledger/fabric-protos';
import { status } from '../../../network/src/network';
import { canonicalJson, type TransactionName } from '@emr/protocol';
import type { Gateways, Identity } from './gateways';
import type { World } from './world';

export interface PeerChain {
  org: string;
  height: number;
  currentBlockHash: string;
}

export interface LedgerSnapshot {
  peers: PeerChain[];
  /** Reads of what the calls aimed at, by what was read. */
  state: Record<string, string>;
}

/** The peer of `org` (asked as the org's admin, targeted by the gateway at that org alone). */
async function chainOf(gateways: Gateways, org: string, channel: string): Promise<PeerChain> {
  const connection = gateways.connection({ org, user: 'admin' });
  const bytes = await connection.gateway.getNetwork(channel).getContract('qscc').evaluate('GetChainInfo', { arguments: [channel], endorsingOrganizations: [connection.mspId] });
  const info = common.BlockchainInfo.deserializeBinary(bytes);
  return { org, height: info.getHeight(), currentBlockHash: Buffer.from(info.getCurrentblockhash_asU8()).toString('hex') };
}

/**
 * Every member peer's chain once it is quiet: the peers agree (they commit the same block a
 * moment apart) and nothing was committed for `quietMs` (8 batch timeouts by default), so
 * writes still on their way (a proxy logging a re-encryption it made ahead, a previous test's
 * load) are in before the chain is measured. Gives up waiting after `settleMs`.
 */
export async function settledChains(gateways: Gateways, orgs: readonly string[], channel: string, quietMs = 2_000, settleMs = 30_000): Promise<PeerChain[]> {
  const deadline = Date.now() + settleMs;
  let last = '';
  let since = Date.now();
  for (;;) {
    const chains = await Promise.all(orgs.map((org) => chainOf(gateways, org, channel)));
    const agree = chains.every((c) => c.height === chains[0]!.height && c.currentBlockHash === chains[0]!.currentBlockHash);
    const now = JSON.stringify(chains);
    if (now !== last) [last, since] = [now, Date.now()];
    if ((agree && Date.now() - since >= quietMs) || Date.now() > deadline) return chains;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function read(gateways: Gateways, caller: Identity, transaction: TransactionName, args: string[], ownOrg = false): Promise<string> {
  const connection = gateways.connection(caller);
  const bytes = await connection.contract.evaluate(transaction, { arguments: args, ...(ownOrg ? { endorsingOrganizations: [connection.mspId] } : {}) });
  return Buffer.from(bytes).toString('utf8');
}
/** Drops what an answer computes from the transaction time (a grant's `active`, a break-glass's `status`). */
const withoutNow = (json: string, keep: string): string => canonicalJson((JSON.parse(json) as Record<string, unknown>)[keep]);

/** The objects and lists the malformed calls aim at, as the chaincode reads them. */
export async function stateProbes(gateways: Gateways, w: World): Promise<Record<string, string>> {
  const doctor = { org: 'HospitalA', user: 'doctor1' };
  const researcher = { org: 'ResearchInstitute', user: 'researcher1' };
  const probes: Record<string, () => Promise<string>> = {
    victimRecord: () => read(gateways, doctor, 'emr:ReadRecord', [w.victimRecord.recordId]),
    attackerRecord: () => read(gateways, doctor, 'emr:ReadRecord', [w.attackerRecord.recordId]),
    attackerUnapproved: () => read(gateways, doctor, 'emr:ReadRecord', [w.attackerUnapproved.recordId]),
    internalMetadata: () => read(gateways, doctor, 'emr:ReadInternalMetadata', [w.victimRecord.recordId], true),
    victimRecords: () => read(gateways, doctor, 'emr:ListRecordsByPatient', [w.victim.pseudonym, '100', '']),
    attackerRecords: () => read(gateways, doctor, 'emr:ListRecordsByPatient', [w.attacker.pseudonym, '100', '']),
    consent: () => read(gateways, w.victim, 'consent:ReadConsent', [w.consent.consentId]),
    attackerConsents: () => read(gateways, w.attacker, 'consent:ListConsentsByPatient', [w.attacker.pseudonym, '100', '']),
    grant: async () => withoutNow(await read(gateways, researcher, 'consent:ReadGrant', [w.grant.grantId]), 'registration'),
    grants: () => read(gateways, researcher, 'consent:ListGrantsByConsent', [w.consent.consentId, '100', '']),
    access: () => read(gateways, researcher, 'consent:ReadAccessEntry', [w.access.entryId]),
    victimLog: () => read(gateways, w.victim, 'consent:ListPatientLog', [w.victim.pseudonym, '100', '']),
    attackerLog: () => read(gateways, w.attacker, 'consent:ListPatientLog', [w.attacker.pseudonym, '100', '']),
    breakGlass: async () => withoutNow(await read(gateways, w.victim, 'emergency:ReadBreakGlass', [w.emergencyId]), 'emergency'),
    proxies: () => read(gateways, doctor, 'proxy:ListProxies', []),
    keyCentres: () => read(gateways, doctor, 'kgc:ListKeyCentres', []),
    policies: async () => (await Promise.all(['HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP'].map((m) => read(gateways, doctor, 'consent:ReadApprovalPolicies', [m])))).join('\n'),
    directory: () => read(gateways, doctor, 'directory:ReadIdentity', ['HospitalAMSP', 'doctor1']),
  };
  const entries = await Promise.all(Object.entries(probes).map(async ([name, probe]) => [name, await probe()] as const));
  return Object.fromEntries(entries);
}

export async function snapshot(gateways: Gateways, w: World, orgs: readonly string[]): Promise<LedgerSnapshot> {
  const peers = await settledChains(gateways, orgs, w.channel);
  return { peers, state: await stateProbes(gateways, w) };
}

/** The nodes `network status` does not find healthy (peers and orderers by their /healthz, services by theirs). */
export async function unhealthyNodes(): Promise<string[]> {
  const s = await status();
  return s.lines.filter((l) => !l.healthy).map((l) => `${l.name} (${l.process})`);
}
