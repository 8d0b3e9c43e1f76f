/** Break-glass: a doctor's time-limited read without prior consent (docs/chaincode.md). */
import type { Party } from '../party';

export interface EmergencyInput {
  emergencyId: string;
  patientPseudonym: string;
  /** Narrows the override to a department subtree; all of the patient's records when absent. */
  category?: string;
  /** How long access lasts once approved. */
  durationMinutes: number;
}

export const EMERGENCY_STATUSES = ['pending', 'active', 'expired', 'lapsed'] as const;
export type EmergencyStatus = (typeof EMERGENCY_STATUSES)[number];

export interface Emergency extends Omit<EmergencyInput, 'category'> {
  category: string | null;
  requester: Party;
  /** Hex SHA-256 of the justification entry in the requester's hospital's implicit collection. */
  justificationHash: string;
  requestedAt: string;
  txId: string;
  approver: Party | null;
  approvedAt: string | null;
  expiresAt: string | null;
  approveTxId: string | null;
}

/** The private justification entry (implicit collection of the requester's hospital). */
export interface Justification {
  emergencyId: string;
  author: string;
  justification: string;
  recordedAt: string;
  txId: string;
}
