/** Who is on the chain: registered patients (by pseudonym only) and the directory of staff. */
import type { Role } from '../roles';

export interface PatientRegistration {
  patientPseudonym: string;
  /** The patient's home hospital: the org whose CA enrolled him (his certificate's MSP). */
  homeMsp: string;
  registeredAt: string;
  txId: string;
  /**
   * The patient's SM2 public key (uncompressed SEC1, hex), once he registered one: it checks his
   * signatures on records of the SM suite. Fixed for the pseudonym's life.
   */
  sm2PublicKey?: string;
}

/** The patient registers his SM2 key; `proof` is its SM2 signature over sm2KeyPayload (possession). */
export interface Sm2KeyRegistration {
  patientPseudonym: string;
  publicKey: string;
  proof: string;
}

/** A doctor, researcher or admin who registered himself (never a patient: his key would link him to his pseudonym). */
export interface DirectoryEntry {
  mspId: string;
  enrollmentId: string;
  /** The role attribute of the certificate it registered with. */
  role: Role;
  /** SPKI PEM of the certificate's key: the identity proved it holds it by signing the registration. */
  publicKey: string;
  registeredAt: string;
  txId: string;
}

/** An org of the channel: one of its identities registered (Fabric admits only channel members' transactions). */
export interface Member {
  mspId: string;
}
