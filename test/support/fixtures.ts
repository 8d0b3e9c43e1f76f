import { createHash, randomUUID } from 'node:crypto';
import { categoryAncestors, type ConsentInput, type EmrRecordInput } from '@emr/protocol';
import { pseudonymFor } from './chaincode-context';

/** A well-formed pseudonym nobody registered (no key derives it). */
export const pseudonym = (seed: string): string => createHash('sha256').update(`test-pseudonym:${seed}`).digest('hex');

/** The pseudonym of HospitalA's patient1, the unit tests' patient. */
export const patient1Pseudonym = (): string => pseudonymFor('HospitalAMSP', 'patient1');

/** Opaque stand-ins for a record's ancestor capsules (the chaincode checks their count and form only). */
export const fakeAncestorKeys = (recordId: string, category: string): string[] => categoryAncestors(category).map((a) => Buffer.from(`capsule:${recordId}:${a}`).toString('base64url'));

/** A valid record input with a fresh id; override any field (the ancestor capsules follow the category unless given). */
export function recordInput(overrides: Partial<EmrRecordInput> = {}): EmrRecordInput {
  const id = overrides.recordId ?? `rec-${randomUUID()}`;
  return {
    ancestorKeys: fakeAncestorKeys(id, overrides.category ?? 'cardiology/ecg'),
    recordId: id,
    patientPseudonym: patient1Pseudonym(),
    category: 'cardiology/ecg',
    type: 'sharable',
    cid: `bafkrei${createHash('sha256').update(id).digest('hex').replace(/[01890]/g, 'a').slice(0, 52)}`,
    ciphertextSha256: createHash('sha256').update(`ciphertext:${id}`).digest('hex'),
    size: 2048,
    cipherSuite: 'aes-256-gcm-stream.v1',
    encapsulatedKey: Buffer.from(`capsule:${id}`).toString('base64url'),
    ...overrides,
  };
}

/** A valid consent: patient1's cardiology records for researcher1 of the research institute, for a day. */
export function consentInput(overrides: Partial<ConsentInput> = {}): ConsentInput {
  return {
    consentId: `consent-${randomUUID()}`,
    patientPseudonym: patient1Pseudonym(),
    grantee: { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
    scope: { category: 'cardiology' },
    purpose: 'research',
    validFrom: '2026-01-01T00:00:00.000Z',
    validUntil: '2026-01-02T00:00:00.000Z',
    maxAccesses: 3,
    hopLimit: 2,
    ...overrides,
  };
}
