/**
 * The append-only access log. Every access request (allowed or denied), re-encryption,
 * receipt and consent change is one entry; the patient lists his log and each record's
 * log newest first. Entries are shaped to map onto a FHIR AuditEvent (docs/chaincode.md).
 */
import type { Caller } from './roles';
import { encode, indexPage, readJson, type StateStore, type TxContext } from './ledger';

export const LOG_ACTIONS = ['access-request', 're-encryption', 'receipt', 'consent-grant', 'consent-revoke', 'grant-registration', 'patient-registration'] as const;
export type LogAction = (typeof LOG_ACTIONS)[number];

export interface LogEntry {
  /** `<txId>.<n>`: the n-th entry written by that transaction. */
  entryId: string;
  action: LogAction;
  outcome: 'success' | 'denied';
  /** Why a request was denied (a DenyReason), else null. */
  reason: string | null;
  agent: Caller;
  patientPseudonym: string;
  recordId: string | null;
  consentId: string | null;
  purpose: string | null;
  /** ISO-8601 transaction timestamp. */
  recorded: string;
  txId: string;
}

export interface LogPage {
  entries: LogEntry[];
  bookmark: string;
}

const ENTRY = 'emr.log';
const BY_PATIENT = 'emr.log~patient';
const BY_RECORD = 'emr.log~record';
/** Newest first under lexicographic key order: 13-digit milliseconds counted down from year 2286. */
const descendingTime = (t: Date): string => String(9_999_999_999_999 - t.getTime()).padStart(13, '0');

export class AccessLog {
  private written = 0;

  constructor(
    private readonly state: StateStore,
    private readonly tx: TxContext,
  ) {}

  async append(entry: Omit<LogEntry, 'entryId' | 'recorded' | 'txId'>): Promise<LogEntry> {
    const full: LogEntry = { ...entry, entryId: `${this.tx.txId}.${this.written++}`, recorded: this.tx.timestamp.toISOString(), txId: this.tx.txId };
    const when = descendingTime(this.tx.timestamp);
    await this.state.putState(this.state.createCompositeKey(ENTRY, [full.entryId]), encode(full));
    await this.state.putState(this.state.createCompositeKey(BY_PATIENT, [full.patientPseudonym, when, full.entryId]), Buffer.from([0]));
    if (full.recordId) await this.state.putState(this.state.createCompositeKey(BY_RECORD, [full.recordId, when, full.entryId]), Buffer.from([0]));
    return full;
  }

  listByPatient = (patientPseudonym: string, pageSize: number, bookmark: string): Promise<LogPage> => this.list(BY_PATIENT, patientPseudonym, pageSize, bookmark);
  listByRecord = (recordId: string, pageSize: number, bookmark: string): Promise<LogPage> => this.list(BY_RECORD, recordId, pageSize, bookmark);

  private async list(index: string, key: string, pageSize: number, bookmark: string): Promise<LogPage> {
    const { items, bookmark: next } = await indexPage(this.state, index, [key], pageSize, bookmark, async (id) => (await readJson<LogEntry>(this.state, ENTRY, [id]))!);
    return { entries: items, bookmark: next };
  }
}
