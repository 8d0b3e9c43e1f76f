/**
 * The append-only access log. Every access request (allowed or denied), re-encryption,
 * receipt and consent change is one entry; the patient lists his log and each record's
 * log newest first. Entries are shaped to map onto a FHIR AuditEvent (docs/chaincode.md).
 */
import { ChaincodeError, ErrorCode, invalid, type LogEntry, type LogPage } from '@emr/protocol';
import { encode, found, indexPage, readJson, type StateStore, type TxContext } from './ledger';

const ENTRY = 'emr.log';
const BY_PATIENT = 'emr.log~patient';
const OVERRIDES_BY_PATIENT = 'emr.log~patient-override';
const RECEIPT = 'emr.receipt';
const BY_RECORD = 'emr.log~record';
/** (access entry, grant, proxy) → the re-encryption entry that proxy logged: its log is idempotent. */
const SERVED = 'emr.log~served';
/** Newest first under lexicographic key order: 13-digit milliseconds counted down from year 2286. */
const descendingTime = (t: Date): string => String(9_999_999_999_999 - t.getTime()).padStart(13, '0');

export class AccessLog {
  private written = 0;

  constructor(
    private readonly state: StateStore,
    private readonly tx: TxContext,
  ) {}

  async append(entry: Omit<LogEntry, 'entryId' | 'recorded' | 'txId' | 'emergencyId'> & { emergencyId?: string }): Promise<LogEntry> {
    const full: LogEntry = { ...entry, emergencyId: entry.emergencyId ?? null, entryId: `${this.tx.txId}.${this.written++}`, recorded: this.tx.timestamp.toISOString(), txId: this.tx.txId };
    const when = descendingTime(this.tx.timestamp);
    await this.state.putState(this.state.createCompositeKey(ENTRY, [full.entryId]), encode(full));
    const patientIndex = full.emergencyId ? OVERRIDES_BY_PATIENT : BY_PATIENT;
    await this.state.putState(this.state.createCompositeKey(patientIndex, [full.patientPseudonym, when, full.entryId]), Buffer.from([0]));
    if (full.recordId) await this.state.putState(this.state.createCompositeKey(BY_RECORD, [full.recordId, when, full.entryId]), Buffer.from([0]));
    return full;
  }

  async get(entryId: string): Promise<LogEntry> {
    return found(await readJson<LogEntry>(this.state, ENTRY, [entryId]), 'entryId', `log entry '${entryId}' does not exist`);
  }

  /** Marks an access entry as confirmed by a receipt, once. */
  async markReceipt(entryId: string): Promise<void> {
    const key = this.state.createCompositeKey(RECEIPT, [entryId]);
    const seen = await this.state.getState(key);
    if (seen && seen.length > 0) throw new ChaincodeError(ErrorCode.Conflict, `access '${entryId}' already has a receipt`, 'entryId');
    await this.state.putState(key, Buffer.from(this.tx.txId, 'utf8'));
  }

  /** The re-encryption entry a proxy (its registry key) already logged for an access through a grant, if any. */
  async servedBy(accessEntryId: string, grantId: string, proxy: string): Promise<LogEntry | undefined> {
    const id = await this.state.getState(this.state.createCompositeKey(SERVED, [accessEntryId, grantId, proxy]));
    return id && id.length > 0 ? this.get(Buffer.from(id).toString('utf8')) : undefined;
  }

  async markServed(accessEntryId: string, grantId: string, proxy: string, reEncryptionEntryId: string): Promise<void> {
    await this.state.putState(this.state.createCompositeKey(SERVED, [accessEntryId, grantId, proxy]), Buffer.from(reEncryptionEntryId, 'utf8'));
  }

  /**
   * The patient's log: emergency overrides first (newest first), then everything else
   * (newest first). The bookmark says which part it continues: `o:` or `r:` + Fabric's.
   */
  async listByPatient(patientPseudonym: string, pageSize: number, bookmark: string): Promise<LogPage> {
    if (bookmark !== '' && !/^[or]:/.test(bookmark)) throw invalid('bookmark', "must be '' or a bookmark returned by this list");
    if (bookmark.startsWith('r:')) {
      const rest = await this.list(BY_PATIENT, patientPseudonym, pageSize, bookmark.slice(2));
      return { entries: rest.entries, bookmark: rest.bookmark && `r:${rest.bookmark}` };
    }
    const overrides = await this.list(OVERRIDES_BY_PATIENT, patientPseudonym, pageSize, bookmark.slice(2));
    if (overrides.bookmark) return { entries: overrides.entries, bookmark: `o:${overrides.bookmark}` };
    const room = pageSize - overrides.entries.length;
    if (room === 0) return { entries: overrides.entries, bookmark: 'r:' };
    const rest = await this.list(BY_PATIENT, patientPseudonym, room, '');
    return { entries: [...overrides.entries, ...rest.entries], bookmark: rest.bookmark && `r:${rest.bookmark}` };
  }

  listByRecord = (recordId: string, pageSize: number, bookmark: string): Promise<LogPage> => this.list(BY_RECORD, recordId, pageSize, bookmark);

  private async list(index: string, key: string, pageSize: number, bookmark: string): Promise<LogPage> {
    const { items, bookmark: next } = await indexPage(this.state, index, [key], pageSize, bookmark, async (id) => (await readJson<LogEntry>(this.state, ENTRY, [id]))!);
    return { entries: items, bookmark: next };
  }
}
