/**
 * The chaincode's transactions, by the name the SDK calls them (`contract:Method`), with
 * what they take and what they answer. The chaincode keys its role table by these names and
 * checks at compile time that its contracts serve exactly these, each with as many
 * arguments (chaincode/src/access.ts, chaincode/src/index.ts); the SDK calls them only
 * through this table (client/src/fabric/contract-client.ts). So a transaction added, removed
 * or changed on one side alone does not compile.
 *
 * On the wire every argument is a string: text as it is, a number in decimal, an object as
 * JSON (`encodeArgument`). Every answer is canonical JSON of `result`.
 */
import type { AreaPolicy } from './areas';
import type { Party } from './party';
import type { Caller } from './roles';
import type { Purpose, RecordType } from './scopes';
import type { ConsortiumSettings, ConsortiumSettingsInput, SettingsProposal } from './types/consortium';
import type { ApprovalPolicy, Consent, ConsentInput, ConsentPage, PolicySet, ReachAttestation, ReachAttestationInput } from './types/consents';
import type { DkgBoard, DkgMessage, DkgMessageInput, DkgPhase } from './types/dkg';
import type { DirectoryEntry, PatientRegistration, Sm2KeyRegistration } from './types/directory';
import type { Emergency, EmergencyInput, EmergencyStatus, Justification } from './types/emergencies';
import type { GrantPage, Registration, RegistrationInput } from './types/grants';
import type { KeyLeakReport, LogEntry, LogPage } from './types/log';
import type { RecordLink } from './linking';
import type { EmrRecord, EmrRecordInput, InternalMetadata, RecordCreation, RecordPage } from './types/records';
import type { KeyCentre, KeyCentreInput, Proxy } from './types/services';

/** Lists take a page size from 1 to this, and the bookmark of the previous page ('' for the first). */
export const MAX_PAGE_SIZE = 100;

/** The outcome of an access request: its log entry, and why it was denied (null when allowed). */
export interface AccessDecision {
  entry: LogEntry;
  detail: string | null;
}

/** The patient switches a record's type: the data key re-encapsulated for the new type, signed by him. */
export interface TypeSwitch {
  recordId: string;
  type: RecordType;
  encapsulatedKey: string;
  /** Every ancestor capsule re-encapsulated too, in the record's order. */
  ancestorKeys: string[];
  /** Over the index fields as they become (signing.ts: recordSigningPayload). */
  signature: string;
}

/** A fragment a proxy signed that fails its proof; byte strings base64url. */
export interface FragmentReport {
  grantId: string;
  proxy: Party;
  capsule: string;
  fragment: string;
  /** The proxy's signature over signing.ts's fragmentSigningPayload. */
  signature: string;
}

/** The proxies a grant gets: the seed fixed by the grant, and the draw in share order. */
export interface Election {
  seed: string;
  proxies: Party[];
}

interface Submit<Args extends readonly Argument[], Result, Transient extends Record<string, Argument> = Record<string, never>> {
  kind: 'submit';
  args: Args;
  transient: Transient;
  result: Result;
}
interface Evaluate<Args extends readonly Argument[], Result, Transient extends Record<string, Argument> = Record<string, never>> {
  kind: 'evaluate';
  args: Args;
  transient: Transient;
  result: Result;
}
/** Transient `link`: what ties an unlinked record to its patient (linking.ts), where a rule needs it; absent for a linked record. */
type Linked = { link?: RecordLink };
type Page = [pageSize: number, bookmark: string];

export interface Transactions {
  // emr: the record index
  'emr:WhoAmI': Evaluate<[], Caller>;
  /** Answers what it decided (version, owner, creator, time, tx id), not the whole record: `createdRecord` rebuilds it. */
  'emr:CreateRecord': Submit<[record: EmrRecordInput], RecordCreation>;
  'emr:ReadRecord': Evaluate<[recordId: string], EmrRecord>;
  'emr:ListRecordsByPatient': Evaluate<[patientPseudonym: string, ...Page], RecordPage>;
  /** The records filed under these record pseudonyms, with their later versions (at most MAX_PAGE_SIZE pseudonyms; linking.ts). */
  'emr:FindUnlinkedRecords': Evaluate<[query: { recordPseudonyms: string[] }], EmrRecord[]>;
  'emr:ApproveRecord': Submit<[recordId: string, signature: string], EmrRecord, Linked>;
  'emr:SwitchType': Submit<[change: TypeSwitch], EmrRecord, Linked>;
  'emr:EraseRecord': Submit<[recordId: string], EmrRecord, Linked>;
  /** Transient `metadata`: endorsed by the caller's org only, it never leaves the org. */
  'emr:PutInternalMetadata': Submit<[recordId: string], { recordId: string; sha256: string }, { metadata: Record<string, unknown> }>;
  'emr:ReadInternalMetadata': Evaluate<[recordId: string], InternalMetadata>;
  // consent: patients, consents, approvals, grants, requests, the log
  'consent:RegisterPatient': Submit<[patientPseudonym: string], PatientRegistration>;
  'consent:ReadPatient': Evaluate<[patientPseudonym: string], PatientRegistration>;
  'consent:RegisterSm2Key': Submit<[key: Sm2KeyRegistration], PatientRegistration>;
  'consent:SetAreaPolicy': Submit<[policy: { patientPseudonym: string; area: string; purposes: Purpose[]; category?: string }], AreaPolicy>;
  'consent:ClearAreaPolicy': Submit<[patientPseudonym: string, area: string], { cleared: boolean }>;
  'consent:ListAreaPolicies': Evaluate<[patientPseudonym: string], AreaPolicy[]>;
  'consent:RequestAreaAccess': Submit<[recordId: string, purpose: Purpose], AccessDecision, Linked>;
  'consent:GrantConsent': Submit<[consent: ConsentInput], Consent>;
  'consent:RevokeConsent': Submit<[consentId: string], Consent>;
  'consent:ReadConsent': Evaluate<[consentId: string], Consent>;
  'consent:ListConsentsByPatient': Evaluate<[patientPseudonym: string, ...Page], ConsentPage>;
  'consent:SetApprovalPolicy': Submit<[policy: ApprovalPolicy], PolicySet>;
  'consent:ReadApprovalPolicies': Evaluate<[mspId: string], PolicySet>;
  'consent:AttestBlindedReach': Submit<[attestation: ReachAttestationInput], ReachAttestation>;
  'consent:ApproveConsent': Submit<[consentId: string], Consent>;
  'consent:RequestAccess': Submit<[recordId: string, consentId: string, purpose: Purpose], AccessDecision, Linked>;
  'consent:RequestDelegatedAccess': Submit<[recordId: string, grantId: string, purpose: Purpose], AccessDecision, Linked>;
  'consent:ReadAccessEntry': Evaluate<[entryId: string], LogEntry>;
  'consent:ListGrantsByConsent': Evaluate<[consentId: string, ...Page], GrantPage>;
  'consent:ConfirmReceipt': Submit<[entryId: string], LogEntry>;
  'consent:ListPatientLog': Evaluate<[patientPseudonym: string, ...Page], LogPage>;
  'consent:ListRecordLog': Evaluate<[recordId: string, ...Page], LogPage, Linked>;
  'consent:RegisterGrant': Submit<[registration: RegistrationInput], Registration>;
  'consent:ReadGrant': Evaluate<[grantId: string], { registration: Registration; active: boolean }>;
  /** Every registered grant, for tracing a leaked key against all of them (admins). */
  'consent:ListGrants': Evaluate<[...Page], GrantPage>;
  'consent:ReportKeyLeak': Submit<[report: KeyLeakReport], LogEntry, Linked>;
  // emergency: break-glass
  /** Transient `justification`: endorsed by the caller's org only, it may hold health details. */
  'emergency:RecordJustification': Submit<[emergencyId: string], { emergencyId: string; justificationHash: string }, { justification: string }>;
  'emergency:RequestBreakGlass': Submit<[request: EmergencyInput], Emergency>;
  'emergency:ApproveBreakGlass': Submit<[emergencyId: string], Emergency>;
  'emergency:RequestEmergencyAccess': Submit<[recordId: string, emergencyId: string], AccessDecision, Linked>;
  'emergency:ReadBreakGlass': Evaluate<[emergencyId: string], { emergency: Emergency; status: EmergencyStatus }>;
  'emergency:ReadJustification': Evaluate<[emergencyId: string], Justification>;
  // proxy: registry, stake, election, faults, re-encryption log
  'proxy:RegisterProxy': Submit<[endpoint: string], Proxy>;
  'proxy:RegisterSm2Key': Submit<[key: { publicKey: string; proof: string }], Proxy>;
  'proxy:VoteStake': Submit<[mspId: string, enrollmentId: string, amount: number], { proxy: Proxy; voterTotal: number }>;
  'proxy:ReadProxy': Evaluate<[mspId: string, enrollmentId: string], Proxy>;
  'proxy:ListProxies': Evaluate<[], Proxy[]>;
  'proxy:ElectProxies': Evaluate<[grantId: string, consentId: string, n: number], Election>;
  'proxy:ReportBadFragment': Submit<[report: FragmentReport], { proxy: Proxy; fault: string }>;
  'proxy:LogReEncryption': Submit<[entryId: string, grantId: string], LogEntry>;
  // directory: who a consent may name
  'directory:RegisterIdentity': Submit<[], DirectoryEntry>;
  'directory:ReadIdentity': Evaluate<[mspId: string, enrollmentId: string], DirectoryEntry>;
  // kgc: the key generation centres' public record
  'kgc:RegisterKeyCentre': Submit<[centre: KeyCentreInput], KeyCentre>;
  'kgc:ListKeyCentres': Evaluate<[], KeyCentre[]>;
  // consortium: settings the member orgs' admins change together
  'consortium:ReadSettings': Evaluate<[], ConsortiumSettings>;
  'consortium:ProposeSettings': Submit<[proposal: { proposalId: string; settings: ConsortiumSettingsInput }], SettingsProposal>;
  'consortium:ApproveSettings': Submit<[proposalId: string], SettingsProposal>;
  'consortium:ReadProposal': Evaluate<[proposalId: string], SettingsProposal>;
  'kgc:PostDkgMessage': Submit<[message: DkgMessageInput], DkgMessage>;
  /** A centre votes to close a phase (it waited out a silent centre); t votes close it. */
  'kgc:CloseDkgPhase': Submit<[dkgId: string, phase: DkgPhase, index: number], { phase: DkgPhase; voted: boolean }>;
  'kgc:ReadDkg': Evaluate<[dkgId: string], DkgBoard>;
  // bench: the ordering benchmark's floor, the cheapest write on this chaincode
  /** One PutState of a constant under `emr.bench/<key>`; org admins only. */
  'bench:PutState': Submit<[key: string], { key: string }>;
  /** The floor plus one read first, as every EMR write checks the state: refuses a key already written; org admins only. */
  'bench:ReadThenPutState': Submit<[key: string], { key: string }>;
}

export type TransactionName = keyof Transactions;
export type TransactionArgs<N extends TransactionName> = Transactions[N]['args'];
export type TransactionResult<N extends TransactionName> = Transactions[N]['result'];
/** The transient (never on the ledger) data a transaction takes; `Record<string, never>` for none. */
export type TransactionTransient<N extends TransactionName> = Transactions[N]['transient'];
/** Transactions that write: endorsed, ordered and committed. */
export type SubmitName = { [N in TransactionName]: Transactions[N]['kind'] extends 'submit' ? N : never }[TransactionName];
/** Read-only transactions: one peer answers, nothing is ordered. */
export type EvaluateName = Exclude<TransactionName, SubmitName>;

/** Every transaction and whether it is submitted or evaluated: the table above, at run time. */
export const TRANSACTIONS = {
  'emr:WhoAmI': 'evaluate',
  'emr:CreateRecord': 'submit',
  'emr:ReadRecord': 'evaluate',
  'emr:ListRecordsByPatient': 'evaluate',
  'emr:FindUnlinkedRecords': 'evaluate',
  'emr:ApproveRecord': 'submit',
  'emr:SwitchType': 'submit',
  'emr:EraseRecord': 'submit',
  'emr:PutInternalMetadata': 'submit',
  'emr:ReadInternalMetadata': 'evaluate',
  'consent:RegisterPatient': 'submit',
  'consent:ReadPatient': 'evaluate',
  'consent:RegisterSm2Key': 'submit',
  'consent:SetAreaPolicy': 'submit',
  'consent:ClearAreaPolicy': 'submit',
  'consent:ListAreaPolicies': 'evaluate',
  'consent:RequestAreaAccess': 'submit',
  'consent:GrantConsent': 'submit',
  'consent:RevokeConsent': 'submit',
  'consent:ReadConsent': 'evaluate',
  'consent:ListConsentsByPatient': 'evaluate',
  'consent:SetApprovalPolicy': 'submit',
  'consent:ReadApprovalPolicies': 'evaluate',
  'consent:AttestBlindedReach': 'submit',
  'consent:ApproveConsent': 'submit',
  'consent:RequestAccess': 'submit',
  'consent:RequestDelegatedAccess': 'submit',
  'consent:ReadAccessEntry': 'evaluate',
  'consent:ListGrantsByConsent': 'evaluate',
  'consent:ConfirmReceipt': 'submit',
  'consent:ListPatientLog': 'evaluate',
  'consent:ListRecordLog': 'evaluate',
  'consent:RegisterGrant': 'submit',
  'consent:ReadGrant': 'evaluate',
  'consent:ListGrants': 'evaluate',
  'consent:ReportKeyLeak': 'submit',
  'emergency:RecordJustification': 'submit',
  'emergency:RequestBreakGlass': 'submit',
  'emergency:ApproveBreakGlass': 'submit',
  'emergency:RequestEmergencyAccess': 'submit',
  'emergency:ReadBreakGlass': 'evaluate',
  'emergency:ReadJustification': 'evaluate',
  'proxy:RegisterProxy': 'submit',
  'proxy:RegisterSm2Key': 'submit',
  'proxy:VoteStake': 'submit',
  'proxy:ReadProxy': 'evaluate',
  'proxy:ListProxies': 'evaluate',
  'proxy:ElectProxies': 'evaluate',
  'proxy:ReportBadFragment': 'submit',
  'proxy:LogReEncryption': 'submit',
  'directory:RegisterIdentity': 'submit',
  'directory:ReadIdentity': 'evaluate',
  'kgc:RegisterKeyCentre': 'submit',
  'kgc:ListKeyCentres': 'evaluate',
  'consortium:ReadSettings': 'evaluate',
  'consortium:ProposeSettings': 'submit',
  'consortium:ApproveSettings': 'submit',
  'consortium:ReadProposal': 'evaluate',
  'kgc:PostDkgMessage': 'submit',
  'kgc:CloseDkgPhase': 'submit',
  'kgc:ReadDkg': 'evaluate',
  'bench:PutState': 'submit',
  'bench:ReadThenPutState': 'submit',
} as const satisfies { readonly [N in TransactionName]: Transactions[N]['kind'] };

/** The contract a transaction belongs to (`consent` of `consent:RequestAccess`). */
export const contractOf = (name: TransactionName): string => name.slice(0, name.indexOf(':'));
/** The transaction's method in its contract (`RequestAccess` of `consent:RequestAccess`). */
export const methodOf = (name: TransactionName): string => name.slice(name.indexOf(':') + 1);

/** What a transaction argument (or transient value) may be. */
export type Argument = string | number | object;

/** An argument as the chaincode receives it: text as it is, a number in decimal, anything else as JSON. */
export const encodeArgument = (value: Argument): string => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value));
