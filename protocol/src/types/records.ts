/** EMR index records as the chaincode stores and answers them (docs/chaincode.md, data model). */
import type { RecordType } from '../scopes';

/** What a caller submits to index a new record (or a new version of one). */
export interface EmrRecordInput {
  /** Client-chosen id, unique on the ledger. */
  recordId: string;
  /** Keyed hash (hex SHA-256 HMAC) of the patient's identity: no names or PHI on chain. */
  patientPseudonym: string;
  /** Department path, e.g. `cardiology/ecg`, or its blinded form (blinding.ts). */
  category: string;
  /**
   * With a blinded category only: the clear path sealed for the patient (blinding.ts,
   * sealCategoryLabel), so that his own listings name it. Outside the patient's signature:
   * it opens only to a path that blinds to `category`.
   */
  categoryLabel?: string;
  type: RecordType;
  /** IPFS CIDv1 (base32) of the ciphertext. */
  cid: string;
  /** Hex SHA-256 of the ciphertext bytes. */
  ciphertextSha256: string;
  /** Content size in bytes: the plaintext's, or for a padded record its size class, which its ciphertext shows anyway (docs/privacy.md, "Sizes"). */
  size: number;
  cipherSuite: string;
  /** The data key encapsulated to the slot of the record's own category (its leaf), base64url; opaque to the chaincode. */
  encapsulatedKey: string;
  /**
   * The same data key encapsulated to the slot of each ancestor category, the parent first
   * and the root `*` last (scopes.ts: categoryAncestors): a grant on `cardiology` opens every
   * record below it, present or future (docs/crypto.md). Empty only for records indexed
   * before ancestor capsules existed.
   */
  ancestorKeys: string[];
  /** Id of the record this one replaces; the old version stays on the ledger. */
  supersedes?: string;
  /** Required when the patient creates the record: his signature over the index fields (signing.ts). */
  patientSignature?: string;
}

/** The patient's signature over the index fields as they stand (signing.ts: recordSigningPayload). */
export interface PatientApproval {
  signature: string;
  signedAt: string;
  txId: string;
}

/** Set when the record was erased: the capsule is gone from the world state, the hashes stay. */
export interface Erasure {
  erasedAt: string;
  erasedBy: string;
  txId: string;
}

/** An EMR index record as stored on the ledger. */
export interface EmrRecord extends Omit<EmrRecordInput, 'supersedes' | 'patientSignature'> {
  erased?: Erasure;
  supersedes: string | null;
  /** Set when the patient created the record, approved it, or switched its type. */
  patientApproval: PatientApproval | null;
  version: number;
  /** MSP id of the hospital that owns the record: the creator's org. */
  ownerMsp: string;
  createdBy: string;
  /** ISO-8601 transaction timestamp. */
  createdAt: string;
  txId: string;
}

/**
 * What CreateRecord answers: the fields the chaincode decided. The rest is the caller's own
 * input, and a response is stored in the transaction on every ledger, so echoing the whole
 * record would store it twice (`createdRecord` rebuilds it).
 */
export type RecordCreation = Pick<EmrRecord, 'recordId' | 'version' | 'ownerMsp' | 'createdBy' | 'createdAt' | 'txId'>;

/** The record CreateRecord stores, from its input and what it decided: the chaincode builds it so, and the SDK rebuilds it from the answer. */
export function createdRecord(input: EmrRecordInput, creation: RecordCreation): EmrRecord {
  const { patientSignature, supersedes, ...fields } = input;
  return {
    ...fields,
    supersedes: supersedes ?? null,
    patientApproval: patientSignature ? { signature: patientSignature, signedAt: creation.createdAt, txId: creation.txId } : null,
    ...creation,
  };
}

export interface RecordPage {
  records: EmrRecord[];
  /** Pass back to get the next page; empty when there is none. */
  bookmark: string;
}

/** A hospital's own notes on a record, kept in its implicit private data collection. */
export interface InternalMetadata {
  recordId: string;
  metadata: Record<string, unknown>;
  writtenBy: string;
  writtenAt: string;
  txId: string;
}
