import {
  SIGNATURE_SCHEME_NAMES,
  canonicalJson,
  invalid,
  isRecordPseudonym,
  parseRecordLink,
  recordPseudonym,
  pseudonymOf,
  recordSigningPayload,
  signatureSchemeOf,
  signatureValid,
  type EmrRecord,
  type PatientRegistration,
  type SignatureScheme,
  type TransactionName,
} from '@emr/protocol';
import type { Context } from 'fabric-contract-api';
import { authorize, callerOf } from './access';
import { AccessLog } from './access-log';
import { AreaPolicyStore } from './area-policies';
import { ConsentStore } from './consents';
import { ConsortiumStore } from './consortium';
import { Directory } from './directory';
import { EmergencyStore } from './emergencies';
import { parseJsonObject, transientText, txOf } from './ledger';
import { PatientStore } from './patients';
import { PolicyStore } from './policies';
import { ProxyStore } from './proxies';
import { RecordStore } from './records';
import { RegistrationStore } from './registrations';
import { sm2SignatureValid } from './sm2-keys';
import { transactionState } from './transaction-state';

/**
 * What every transaction starts with: the caller from the certificate, checked against the
 * transaction's roles before any argument is read, and the stores over the stub.
 */
export function session(ctx: Context, transaction: TransactionName) {
  const caller = callerOf(ctx.clientIdentity);
  authorize(caller, transaction);
  const stub = transactionState(ctx);
  const tx = txOf(ctx);
  let ownPseudonym: string | undefined;
  return {
    caller,
    stub,
    tx,
    patients: new PatientStore(stub, caller, () => (ownPseudonym ??= pseudonymOf(caller.mspId, ctx.clientIdentity.getIDBytes()))),
    directory: new Directory(stub),
    consents: new ConsentStore(stub),
    consortium: new ConsortiumStore(stub),
    areaPolicies: new AreaPolicyStore(stub),
    records: new RecordStore(stub),
    grants: new RegistrationStore(stub),
    policies: new PolicyStore(stub),
    emergencies: new EmergencyStore(stub),
    proxies: new ProxyStore(stub),
    log: new AccessLog(stub, tx),
    /** The caller's certificate (PEM). */
    certificate: (): Uint8Array => ctx.clientIdentity.getIDBytes(),
    /**
     * Throws INVALID_ARGUMENT[field] unless the record's patient approval is the calling
     * patient's signature over its index fields, in the scheme of the record's suite: ECDSA
     * with his enrollment key, or SM2 with the key he registered. A signature of the other
     * scheme is named as such.
     */
    requirePatientSignature(record: EmrRecord, field: string, patient: PatientRegistration): void {
      const payload = recordSigningPayload(record);
      const signature = record.patientApproval?.signature ?? '';
      const valid = (scheme: SignatureScheme) =>
        scheme === 'sm2-sm3' ? sm2SignatureValid(patient.sm2PublicKey, payload, signature) : signatureValid(ctx.clientIdentity.getIDBytes(), payload, signature);
      const scheme = signatureSchemeOf(record.cipherSuite);
      if (valid(scheme)) return;
      const wanted = `records of suite ${record.cipherSuite} take the patient's ${SIGNATURE_SCHEME_NAMES[scheme]} signature`;
      const other: SignatureScheme = scheme === 'sm2-sm3' ? 'ecdsa-p256-sha256' : 'sm2-sm3';
      if (valid(other)) throw invalid(field, `is an ${SIGNATURE_SCHEME_NAMES[other]} signature, of the wrong suite: ${wanted}`);
      if (scheme === 'sm2-sm3' && !patient.sm2PublicKey) throw invalid(field, `cannot be checked: ${wanted}, and '${caller.enrollmentId}' has registered no SM2 key (consent:RegisterSm2Key)`);
      throw invalid(field, `is not a valid ${SIGNATURE_SCHEME_NAMES[scheme]} signature of '${caller.enrollmentId}' over the index fields`);
    },
    /**
     * The record as its patient's (docs/privacy.md, "Linkability"). An unlinked record names a
     * record pseudonym; the transient `link` {patientPseudonym, linkKey} proves whose it is,
     * and the record comes back under his pseudonym for the rules to check. The link never
     * reaches the ledger; what the transaction then writes under the patient is what ties the
     * record to him, and only where a party acts on it. A linked record comes back as it is.
     */
    asPatients(record: EmrRecord): EmrRecord {
      if (!isRecordPseudonym(record.patientPseudonym)) return record;
      if (!stub.getTransient().has('link')) throw invalid('link', `is required as transient data: record '${record.recordId}' is unlinked, and its patient's link key ties it to him (the patient's hospital's key centre gives it to those the chain allows)`);
      const link = parseRecordLink(parseJsonObject(transientText(stub, 'link', 512), 'link'));
      if (recordPseudonym(link.patientPseudonym, link.linkKey) !== record.patientPseudonym) throw invalid('link', `does not tie record '${record.recordId}' to patient ${link.patientPseudonym}`);
      return { ...record, patientPseudonym: link.patientPseudonym };
    },
    /** One event per transaction (Fabric keeps the last set); ids only, never PHI. */
    event: (name: string, payload: Record<string, string>): void => stub.setEvent(name, Buffer.from(canonicalJson(payload), 'utf8')),
  };
}
