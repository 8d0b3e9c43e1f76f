/**
 * Reports of leaked keys (docs/crypto.md, "Tracing a leaked key"). A grant key report
 * carries a proof that the reporter holds the key, checked here against the grant's anchor
 * and the consortium's mpk; the key itself never reaches the chain. One report per grant
 * and per record: the first is the finding, a second would only repeat it.
 */
import { decodeKeyPossession, fromBase64url, type KeyPossessionProof } from '@emr/crypto';
import { ChaincodeError, ErrorCode, checkGrantId, checkRecordId, invalid, type KeyLeakReport } from '@emr/protocol';
import { parseJsonObject, rejectUnknownFields, type StateStore, type TxContext } from './ledger';

const REPORTED = 'emr.leak';
const PROOF = /^[A-Za-z0-9_-]{1,256}$/;

export function parseKeyLeakReport(json: string): KeyLeakReport {
  const raw = parseJsonObject(json, 'report');
  if (raw.kind === 'grant-key') {
    rejectUnknownFields(raw, ['kind', 'grantId', 'proof']);
    const grantId = checkGrantId(typeof raw.grantId === 'string' ? raw.grantId : '');
    if (typeof raw.proof !== 'string' || !PROOF.test(raw.proof)) throw invalid('proof', 'must be a base64url proof of possession (encodeKeyPossession)');
    return { kind: 'grant-key', grantId, proof: raw.proof };
  }
  if (raw.kind === 'data-key') {
    rejectUnknownFields(raw, ['kind', 'recordId']);
    return { kind: 'data-key', recordId: checkRecordId(typeof raw.recordId === 'string' ? raw.recordId : '') };
  }
  throw invalid('kind', "must be 'grant-key' or 'data-key'");
}

export function decodeProof(proof: string): KeyPossessionProof {
  try {
    return decodeKeyPossession(fromBase64url(proof, 'proof'));
  } catch (err) {
    throw invalid('proof', `is not an encoded proof of possession: ${(err as Error).message}`);
  }
}

export class KeyLeakStore {
  constructor(private readonly state: StateStore) {}

  /** Marks the grant's or record's key as reported; CONFLICT if it was already. */
  async mark(kind: KeyLeakReport['kind'], id: string, field: string, tx: TxContext): Promise<void> {
    const key = this.state.createCompositeKey(REPORTED, [kind, id]);
    const earlier = await this.state.getState(key);
    if (earlier && earlier.length > 0) throw new ChaincodeError(ErrorCode.Conflict, `the ${kind} of '${id}' was reported leaked already, in transaction ${Buffer.from(earlier).toString('utf8')}`, field);
    await this.state.putState(key, Buffer.from(tx.txId, 'utf8'));
  }
}
