/**
 * One well-formed base call per transaction of the protocol's table (a transaction missing
 * here does not compile), by a caller its role admits, and the calls only some transactions
 * have: other patients' ids, replayed signatures in the arguments, out-of-range values the
 * generic classes do not make. A base is accepted as it stands or refused for a state reason
 * (its comment says which); a defect is checked before the state, so its code and field tell
 * it apart from the base's own outcome.
 */
import { G2, deriveSm2Secret, encodeKeyPossession, sm2PublicKey, sm2Sign, toBase64url } from '@emr/crypto';
import { blindCategory, recordSigningPayload, sm2KeyPayload, type TransactionName } from '@emr/protocol';
import { compositeKey, entryId, enrollmentId, id, int, invalid, json, mspId, page, pseudonym, purpose, time, unauthorized, type Context, type Field, type Spec } from './chaincode-shapes';
import type { Identity } from './gateways';
import type { World } from './world';

const HA = (user: string): Identity => ({ org: 'HospitalA', user });
const HB = (user: string): Identity => ({ org: 'HospitalB', user });
const RI = (user: string): Identity => ({ org: 'ResearchInstitute', user });
const doctorA = HA('doctor1');
const doctorA2 = HA('doctor2');
const doctorB = HB('doctor1');
const adminA = HA('admin');
const adminB = HB('admin');
const researcher = RI('researcher1');
const kgcA = HA('kgc');
/** The consortium's DKG on the chain's board (client/src/services/main.ts). */
const CONSORTIUM_DKG = 'consortium-v1';

const hour = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The record fields a doctor indexes, for the victim, under a fresh id. */
function recordInput(c: Context, patientPseudonym: string) {
  const { cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, ancestorKeys, category, type } = c.w.victimRecord;
  return { recordId: c.fresh('rec'), patientPseudonym, category, type, cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, ancestorKeys };
}
const RECORD_FIELDS: Record<string, Field> = {
  recordId: { kind: 'id' },
  patientPseudonym: { kind: 'pseudonym' },
  category: { kind: 'category' },
  type: { kind: 'recordType' },
  cid: { kind: 'cid' },
  ciphertextSha256: { kind: 'hex64' },
  size: { kind: 'int', outOfRange: (r) => r.pick([-1, 1.5, 2 ** 53, -(2 ** 31), 1e308]) },
  cipherSuite: { kind: 'id' },
  encapsulatedKey: { kind: 'base64url' },
  ancestorKeys: { kind: 'array', refusedAs: ['ancestorKeys', 'ancestorKeys[0]', 'ancestorKeys[1]'] },
  supersedes: { kind: 'id', optional: true },
  patientSignature: { kind: 'signature', optional: true },
  categoryLabel: { kind: 'base64url', optional: true },
};

/** An SM2 key and its proof of possession for an owner, under a key derived from the owner (the same key every time). */
function sm2Key(owner: string) {
  const d = deriveSm2Secret(Buffer.from(`malformed-calls:${owner}`.padEnd(32, '.')), 'malformed-calls');
  const publicKey = Buffer.from(sm2PublicKey(d)).toString('hex');
  return { publicKey, proof: toBase64url(sm2Sign(Buffer.from(sm2KeyPayload(owner, publicKey), 'utf8'), d)) };
}
/** An attestation for a blinded path of the victim's (under a key that is not his: the chain cannot tell). */
const reachAttestation = (w: World) => ({ patientPseudonym: w.victim.pseudonym, category: blindCategory(new Uint8Array(32).fill(9), w.freshCategory), requiredApprovals: [{ role: 'doctor', count: 1 }], policiesTxId: 'f'.repeat(64) });
const REACH_FIELDS: Record<string, Field> = {
  patientPseudonym: { kind: 'pseudonym' },
  category: { kind: 'category' },
  requiredApprovals: { kind: 'array', refusedAs: ['requiredApprovals', 'requiredApprovals[0]'] },
  policiesTxId: { kind: 'id' },
};
const sm2KeyInput = (patientPseudonym: string) => ({ patientPseudonym, ...sm2Key(patientPseudonym) });
const SM2_KEY_FIELDS: Record<string, Field> = {
  patientPseudonym: { kind: 'pseudonym', refusedAs: ['patientPseudonym', 'proof'] },
  // Another hex string is well-formed: then the proof does not cover it.
  publicKey: { kind: 'hex64', refusedAs: ['publicKey', 'proof'] },
  proof: { kind: 'signature' },
};

function consentInput(c: Context, patientPseudonym: string) {
  const now = Date.now();
  return {
    consentId: c.fresh('consent'),
    patientPseudonym,
    grantee: { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
    scope: { category: c.w.victimRecord.category.split('/')[0]! },
    purpose: 'research',
    validFrom: iso(now - hour),
    validUntil: iso(now + 24 * hour),
    maxAccesses: 3,
    hopLimit: 1,
  };
}
const CONSENT_FIELDS: Record<string, Field> = {
  consentId: { kind: 'id' },
  patientPseudonym: { kind: 'pseudonym' },
  grantee: { kind: 'object', refusedAs: ['grantee', 'grantee.kind', 'grantee.mspId', 'grantee.enrollmentId'] },
  scope: { kind: 'object', refusedAs: ['scope', 'scope.category', 'scope.recordIds', 'scope.type'] },
  purpose: { kind: 'purpose' },
  validFrom: { ...time, refusedAs: ['validFrom', 'validUntil'] },
  validUntil: time,
  maxAccesses: int(1, 1_000_000),
  hopLimit: int(1, 5),
};

/** The victim's grant as it was registered: registering it again is refused (CONFLICT), by another caller UNAUTHORIZED. */
function registrationInput(w: World) {
  const { grantId, consentId, delegatee, type, conditionHash, hop, proxies, threshold, commitments, grant, expiresAt } = w.grant;
  return { grantId, consentId, delegatee, type, conditionHash, hop, proxies, threshold, commitments, grant, expiresAt };
}
const REGISTRATION_FIELDS: Record<string, Field> = {
  grantId: { kind: 'id' },
  consentId: { kind: 'id' },
  delegatee: { kind: 'object', refusedAs: ['delegatee', 'delegatee.mspId', 'delegatee.enrollmentId'] },
  type: { kind: 'recordType' },
  conditionHash: { kind: 'hex64' },
  hop: int(1, 5),
  proxies: { kind: 'array', refusedAs: ['proxies', 'proxies[0]', 'threshold'] },
  threshold: { ...int(1, 3), refusedAs: ['threshold', 'commitments'] },
  commitments: { kind: 'array', refusedAs: ['commitments', 'commitments[0]'] },
  grant: { kind: 'base64url' },
  expiresAt: time,
};

function fragmentReport(w: World, i: number) {
  const f = w.fragments[i]!;
  return { grantId: f.grantId, proxy: f.proxy, capsule: f.capsule, fragment: f.fragment, signature: f.signature };
}
const REPORT_FIELDS: Record<string, Field> = {
  grantId: { kind: 'id' },
  proxy: { kind: 'object', refusedAs: ['proxy', 'proxy.mspId', 'proxy.enrollmentId'] },
  // Another base64url string is well-formed: then the proxy's signature does not cover it.
  capsule: { kind: 'base64url', refusedAs: ['capsule', 'signature'] },
  fragment: { kind: 'base64url', refusedAs: ['fragment', 'signature'] },
  signature: { kind: 'signature' },
};

/** A well-formed proof of possession that proves nothing (c = 1, Z = the G2 generator). */
const placeholderProof = () => toBase64url(encodeKeyPossession({ c: 1n, z: G2.BASE }));
const LEAK_FIELDS: Record<string, Field> = {
  kind: { kind: 'recordType', refusedAs: ['kind'] }, // an enum, like a record type: 'grant-key' or 'data-key'
  grantId: { kind: 'id' },
  proof: { kind: 'base64url' },
};

const DKG_MESSAGE_FIELDS: Record<string, Field> = {
  dkgId: { kind: 'id' },
  n: { kind: 'int', outOfRange: (r) => r.pick([0, -1, 33, 1.5, 1e9]), refusedAs: ['n', 'threshold', 'index', 'body.pedersen'] },
  threshold: { kind: 'int', outOfRange: (r) => r.pick([0, -1, 4, 1.5]), refusedAs: ['threshold', 'body.pedersen'] },
  index: { kind: 'int', outOfRange: (r) => r.pick([0, -1, 4, 33, 1.5]) },
  body: { kind: 'object', refusedAs: ['body', 'body.phase', 'body.pedersen'] },
};

/** HospitalA's key centre registering its outcome under HospitalB's index: refused (INVALID_ARGUMENT[index]). */
function keyCentreInput(w: World) {
  const own = w.keyCentres.find((k) => k.mspId === 'HospitalAMSP')!;
  const other = w.keyCentres.find((k) => k.mspId !== 'HospitalAMSP')!;
  const { endpoint, n, threshold, mpk, publicShares, qual } = own;
  return { index: other.index, endpoint, n, threshold, mpk, publicShares, qual };
}
const KEY_CENTRE_FIELDS: Record<string, Field> = {
  index: { kind: 'int', outOfRange: (r) => r.pick([0, -1, 4, 33, 1.5]) },
  endpoint: { kind: 'endpoint' },
  n: { kind: 'int', outOfRange: (r) => r.pick([0, -1, 33, 1.5, 1e9]), refusedAs: ['n', 'threshold', 'index', 'publicShares', 'qual'] },
  threshold: { kind: 'int', outOfRange: (r) => r.pick([0, -1, 4, 1.5]), refusedAs: ['threshold', 'qual'] },
  mpk: { kind: 'base64url' },
  publicShares: { kind: 'array' },
  qual: { kind: 'array', outOfRange: (r) => r.pick([[3, 2, 1], [1, 1, 2], [0, 1, 2], [1], [1, 2, 9]]) },
};

/** The transient justification: 20 characters to 8 KiB of text. */
const JUSTIFICATION = 'malformed-call test: patient unconscious, no consent obtainable';

/**
 * One base per transaction. Comments give the base's own outcome: `valid` (the call as it
 * stands would be accepted) or the refusal its state gets.
 */
export const SPECS: { [N in TransactionName]: Spec } = {
  // valid
  'emr:WhoAmI': { base: (c) => ({ caller: c.r.pick(c.identities), args: [] }) },
  // valid: a new record for the victim
  'emr:CreateRecord': {
    base: (c) => ({ caller: doctorA, args: [json('record', recordInput(c, c.w.victim.pseudonym), RECORD_FIELDS)] }),
    otherPatient: (c) =>
      c.r.pick([
        () => {
          const input = recordInput(c, c.w.victim.pseudonym);
          const signature = c.sign(c.w.attacker, recordSigningPayload({ ...input, ownerMsp: 'HospitalAMSP', version: 1, supersedes: null }));
          return { caller: c.w.attacker, args: [JSON.stringify({ ...input, patientSignature: signature })], what: "the attacker indexes a record under the victim's pseudonym", expect: unauthorized('patientPseudonym') };
        },
        () => ({ caller: doctorB, args: [JSON.stringify({ ...recordInput(c, c.w.victim.pseudonym), supersedes: c.w.victimRecord.recordId })], what: "HospitalB versions HospitalA's record", expect: unauthorized('supersedes') }),
        () => ({ caller: doctorA, args: [JSON.stringify({ ...recordInput(c, c.w.attacker.pseudonym), supersedes: c.w.victimRecord.recordId })], what: "a new version of the victim's record under the attacker", expect: invalid('supersedes') }),
      ])(),
    replayedSignature: (c) =>
      c.r.pick([
        () => ({ caller: c.w.attacker, args: [JSON.stringify({ ...recordInput(c, c.w.attacker.pseudonym), patientSignature: c.w.attackerRecord.patientApproval!.signature })], what: "the patient's signature of another record", expect: invalid('patientSignature') }),
        () => ({ caller: doctorA, args: [JSON.stringify({ ...recordInput(c, c.w.attacker.pseudonym), patientSignature: c.w.attackerRecord.patientApproval!.signature })], what: "a doctor passes a patient's signature", expect: invalid('patientSignature') }),
      ])(),
  },
  // valid
  'emr:ReadRecord': { base: (c) => ({ caller: doctorA, args: [id('recordId', c.w.victimRecord.recordId)] }) },
  // valid
  'emr:ListRecordsByPatient': {
    base: (c) => ({ caller: doctorA, args: [pseudonym('patientPseudonym', c.w.attacker.pseudonym), ...page()] }),
    otherPatient: (c) => ({ caller: doctorA, args: [c.w.attacker.pseudonym, '100', compositeKey('emr.record~patient', [c.w.victim.pseudonym])], what: "a bookmark in the victim's records", expect: invalid('bookmark') }),
  },
  // valid: no record is filed under these
  'emr:FindUnlinkedRecords': {
    base: () => ({ caller: doctorA, args: [json('query', { recordPseudonyms: [`rp-${'0'.repeat(64)}`, `rp-${'1'.repeat(64)}`] }, { recordPseudonyms: { kind: 'array', refusedAs: ['recordPseudonyms', 'recordPseudonyms[0]', 'recordPseudonyms[1]'] } })] }),
  },
  // valid: the attacker approves the record a doctor indexed for him
  'emr:ApproveRecord': {
    base: (c) => ({ caller: c.w.attacker, args: [id('recordId', c.w.attackerUnapproved.recordId), { name: 'signature', kind: 'signature', value: c.sign(c.w.attacker, recordSigningPayload(c.w.attackerUnapproved)) }] }),
    otherPatient: (c) => ({ caller: c.w.attacker, args: [c.w.victimRecord.recordId, c.sign(c.w.attacker, recordSigningPayload(c.w.victimRecord))], what: "the attacker approves the victim's record", expect: unauthorized('patientPseudonym') }),
    replayedSignature: (c) => ({ caller: c.w.attacker, args: [c.w.attackerUnapproved.recordId, c.w.attackerRecord.patientApproval!.signature], what: "his signature of another record", expect: invalid('signature') }),
  },
  // valid: the attacker switches his own record's type
  'emr:SwitchType': {
    base: (c) => {
      const r = c.w.attackerRecord;
      const change = { recordId: r.recordId, type: r.type === 'sharable' ? 'non-sharable' : 'sharable', encapsulatedKey: r.encapsulatedKey, ancestorKeys: r.ancestorKeys };
      const signature = c.sign(c.w.attacker, recordSigningPayload({ ...r, ...change }));
      const fields: Record<string, Field> = {
        recordId: { kind: 'id' },
        type: { kind: 'recordType' },
        encapsulatedKey: { kind: 'base64url', refusedAs: ['encapsulatedKey', 'signature'] },
        ancestorKeys: { kind: 'array', refusedAs: ['ancestorKeys', 'ancestorKeys[0]', 'ancestorKeys[1]', 'signature'] },
        signature: { kind: 'signature' },
      };
      return { caller: c.w.attacker, args: [json('switch', { ...change, signature }, fields)] };
    },
    otherPatient: (c) => {
      const r = c.w.victimRecord;
      const change = { recordId: r.recordId, type: 'non-sharable', encapsulatedKey: r.encapsulatedKey, ancestorKeys: r.ancestorKeys };
      return { caller: c.w.attacker, args: [JSON.stringify({ ...change, signature: c.sign(c.w.attacker, recordSigningPayload({ ...r, ...change })) })], what: "the attacker switches the victim's record", expect: unauthorized('patientPseudonym') };
    },
    replayedSignature: (c) => {
      const r = c.w.attackerRecord;
      return { caller: c.w.attacker, args: [JSON.stringify({ recordId: r.recordId, type: 'non-sharable', encapsulatedKey: r.encapsulatedKey, ancestorKeys: r.ancestorKeys, signature: r.patientApproval!.signature })], what: 'his signature of the fields before the switch', expect: invalid('signature') };
    },
  },
  // NOT_FOUND: no such record
  'emr:EraseRecord': {
    base: (c) => ({ caller: c.w.victim, args: [id('recordId', c.fresh('rec'))] }),
    otherPatient: (c) =>
      c.r.pick([
        () => ({ caller: c.w.attacker, args: [c.w.victimRecord.recordId], what: "the attacker erases the victim's record", expect: unauthorized('patientPseudonym') }),
        () => ({ caller: adminB, args: [c.w.victimRecord.recordId], what: "HospitalB's admin erases HospitalA's record", expect: unauthorized('recordId') }),
      ])(),
  },
  // CONFLICT: the record already has internal metadata
  'emr:PutInternalMetadata': {
    base: (c) => ({ caller: doctorA, args: [id('recordId', c.w.victimRecord.recordId)], transient: { name: 'metadata', kind: 'json', value: '{"ward":"7b"}' }, ownOrg: true }),
    otherPatient: (c) => ({ caller: doctorB, args: [c.w.victimRecord.recordId], transient: { metadata: '{"ward":"7b"}' }, ownOrg: true, what: "HospitalB writes HospitalA's internal metadata", expect: unauthorized('recordId') }),
  },
  // valid
  'emr:ReadInternalMetadata': {
    base: (c) => ({ caller: doctorA, args: [id('recordId', c.w.victimRecord.recordId)], ownOrg: true }),
    otherPatient: (c) => ({ caller: doctorB, args: [c.w.victimRecord.recordId], ownOrg: true, what: "HospitalB reads HospitalA's internal metadata", expect: unauthorized('recordId') }),
  },
  // CONFLICT: already registered
  'consent:RegisterPatient': {
    base: (c) => ({ caller: c.w.attacker, args: [pseudonym('patientPseudonym', c.w.attacker.pseudonym)] }),
    otherPatient: (c) => ({ caller: c.r.pick([c.w.attacker, HB('patient1')]), args: [c.w.victim.pseudonym], what: "registers the victim's pseudonym", expect: unauthorized('patientPseudonym') }),
  },
  // valid: the attacker registers an SM2 key (the same one each time: idempotent)
  'consent:RegisterSm2Key': {
    base: (c) => ({ caller: c.w.attacker, args: [json('key', sm2KeyInput(c.w.attacker.pseudonym), SM2_KEY_FIELDS)] }),
    otherPatient: (c) => ({ caller: c.w.attacker, args: [JSON.stringify(sm2KeyInput(c.w.victim.pseudonym))], what: "registers an SM2 key for the victim's pseudonym", expect: unauthorized('patientPseudonym') }),
  },
  // valid
  'consent:ReadPatient': { base: (c) => ({ caller: doctorA, args: [pseudonym('patientPseudonym', c.w.victim.pseudonym)] }) },
  // valid: the attacker consents over his own records
  'consent:GrantConsent': {
    base: (c) => ({ caller: c.w.attacker, args: [json('consent', consentInput(c, c.w.attacker.pseudonym), CONSENT_FIELDS)] }),
    otherPatient: (c) =>
      c.r.pick([
        () => ({ caller: c.w.attacker, args: [JSON.stringify(consentInput(c, c.w.victim.pseudonym))], what: "the attacker consents over the victim's records", expect: unauthorized('patientPseudonym') }),
        () => ({ caller: c.w.attacker, args: [JSON.stringify({ ...consentInput(c, c.w.attacker.pseudonym), scope: { recordIds: [c.w.victimRecord.recordId] } })], what: "his consent names the victim's record", expect: invalid('scope.recordIds[0]') }),
      ])(),
    outOfRange: (c) => {
      const input = consentInput(c, c.w.attacker.pseudonym);
      return { caller: c.w.attacker, args: [JSON.stringify({ ...input, validUntil: c.r.pick([input.validFrom, iso(Date.parse(input.validFrom) - 1)]) })], what: 'validUntil not after validFrom', expect: invalid('validUntil') };
    },
  },
  // NOT_FOUND: no such consent
  'consent:RevokeConsent': {
    base: (c) => ({ caller: c.w.victim, args: [id('consentId', c.fresh('consent'))] }),
    otherPatient: (c) => ({ caller: c.w.attacker, args: [c.w.consent.consentId], what: "the attacker revokes the victim's consent", expect: unauthorized('patientPseudonym') }),
  },
  // valid
  'consent:ReadConsent': {
    base: (c) => ({ caller: c.w.victim, args: [id('consentId', c.w.consent.consentId)] }),
    otherPatient: (c) => ({ caller: c.r.pick([c.w.attacker, doctorB, adminB]), args: [c.w.consent.consentId], what: "reads the victim's consent", expect: unauthorized('consentId') }),
  },
  // valid
  'consent:ListConsentsByPatient': {
    base: (c) => ({ caller: c.w.attacker, args: [pseudonym('patientPseudonym', c.w.attacker.pseudonym), ...page()] }),
    otherPatient: (c) =>
      c.r.pick([
        () => ({ caller: c.r.pick([c.w.attacker, adminB]), args: [c.w.victim.pseudonym, '10', ''], what: "lists the victim's consents", expect: unauthorized('patientPseudonym') }),
        () => ({ caller: c.w.attacker, args: [c.w.attacker.pseudonym, '100', compositeKey('emr.consent~patient', [c.w.victim.pseudonym])], what: "a bookmark in the victim's consents", expect: invalid('bookmark') }),
      ])(),
  },
  // valid: sets a policy for a category nobody uses
  'consent:SetApprovalPolicy': {
    base: (c) => ({
      caller: adminA,
      args: [json('policy', { category: c.w.freshCategory, approvals: [{ role: 'doctor', count: 1 }] }, { category: { kind: 'category' }, approvals: { kind: 'array', refusedAs: ['approvals', 'approvals[0]'] } })],
    }),
    outOfRange: (c) =>
      c.r.pick([
        () => ({ caller: adminA, args: [JSON.stringify({ category: c.w.freshCategory, approvals: [{ role: 'doctor', count: c.r.pick([0, 6, -1, 1.5]) }] })], what: 'an approval count outside 1..5', expect: invalid('approvals[0].count') }),
        () => ({ caller: adminA, args: [JSON.stringify({ category: c.w.freshCategory, approvals: [{ role: 'doctor', count: 1 }, { role: 'admin', count: 1 }, { role: 'doctor', count: 2 }] })], what: 'more approvals than roles', expect: invalid('approvals') }),
      ])(),
  },
  // valid
  'consent:ReadApprovalPolicies': { base: () => ({ caller: doctorA, args: [mspId('HospitalAMSP')] }) },
  // CONFLICT: attested under policies of another transaction than HospitalA's last
  'consent:AttestBlindedReach': {
    base: (c) => ({ caller: kgcA, args: [json('attestation', reachAttestation(c.w), REACH_FIELDS)] }),
    otherPatient: (c) => ({ caller: c.r.pick([HB('kgc'), RI('kgc')]), args: [JSON.stringify(reachAttestation(c.w))], what: "another hospital's key centre attests for the victim", expect: unauthorized('patientPseudonym') }),
  },
  // CONFLICT: the consent is active, not awaiting approval
  'consent:ApproveConsent': {
    base: (c) => ({ caller: doctorA, args: [id('consentId', c.w.consent.consentId)] }),
    otherPatient: (c) => ({ caller: c.r.pick([doctorB, adminB]), args: [c.w.consent.consentId], what: "another hospital approves the victim's consent", expect: unauthorized('consentId') }),
  },
  // NOT_FOUND: no such record (an existing record and consent would be decided and logged, so never both)
  'consent:RequestAccess': { base: (c) => ({ caller: researcher, args: [id('recordId', c.fresh('rec')), id('consentId', c.w.consent.consentId), purpose('research')] }) },
  // NOT_FOUND: no such record
  'consent:RequestAreaAccess': { base: (c) => ({ caller: doctorA, args: [id('recordId', c.fresh('rec')), purpose('treatment')] }) },
  // valid: the attacker withdraws the research area's default for himself
  'consent:SetAreaPolicy': {
    base: (c) => ({
      caller: c.w.attacker,
      args: [json('policy', { patientPseudonym: c.w.attacker.pseudonym, area: 'research', purposes: [] }, { patientPseudonym: { kind: 'pseudonym' }, area: { kind: 'id', refusedAs: ['area'] }, purposes: { kind: 'array' }, category: { kind: 'category', optional: true } })],
    }),
    otherPatient: (c) => ({ caller: c.w.attacker, args: [JSON.stringify({ patientPseudonym: c.w.victim.pseudonym, area: 'research', purposes: ['research'] })], what: "sets an area rule for the victim", expect: unauthorized('patientPseudonym') }),
  },
  // valid
  'consent:ClearAreaPolicy': {
    base: (c) => ({ caller: c.w.attacker, args: [pseudonym('patientPseudonym', c.w.attacker.pseudonym), id('area', 'research')] }),
    otherPatient: (c) => ({ caller: c.w.attacker, args: [c.w.victim.pseudonym, 'own-hospital'], what: "clears the victim's area rule", expect: unauthorized('patientPseudonym') }),
  },
  // valid
  'consent:ListAreaPolicies': {
    base: (c) => ({ caller: c.w.attacker, args: [pseudonym('patientPseudonym', c.w.attacker.pseudonym)] }),
    otherPatient: (c) => ({ caller: c.r.pick([c.w.attacker, adminB]), args: [c.w.victim.pseudonym], what: "lists the victim's area rules", expect: unauthorized('patientPseudonym') }),
  },
  // NOT_FOUND: no such record
  'consent:RequestDelegatedAccess': {
    base: (c) => ({ caller: researcher, args: [id('recordId', c.fresh('rec')), id('grantId', c.w.grant.grantId), purpose('research')] }),
    otherPatient: (c) => ({ caller: c.r.pick([doctorB, doctorA]), args: [c.w.victimRecord.recordId, c.w.grant.grantId, 'treatment'], what: "another requester uses the researcher's grant", expect: unauthorized('grantId') }),
  },
  // valid
  'consent:ReadAccessEntry': {
    base: (c) => ({ caller: researcher, args: [entryId('entryId', c.w.access.entryId)] }),
    otherPatient: (c) =>
      c.r.pick([
        () => ({ caller: c.r.pick([doctorB, doctorA]), args: [c.w.access.entryId], what: "reads the researcher's access entry", expect: unauthorized('entryId') }),
        () => ({ caller: researcher, args: [c.w.uploadEntryId], what: 'an entry that is not an access request', expect: invalid('entryId') }),
      ])(),
  },
  // valid
  'consent:ListGrantsByConsent': {
    base: (c) => ({ caller: researcher, args: [id('consentId', c.w.consent.consentId), ...page()] }),
    otherPatient: (c) => ({ caller: researcher, args: [c.w.consent.consentId, '100', compositeKey('emr.registration~consent', [c.fresh('consent')])], what: "a bookmark in another consent's grants", expect: invalid('bookmark') }),
  },
  // CONFLICT: the receipt is confirmed already
  'consent:ConfirmReceipt': {
    base: (c) => ({ caller: researcher, args: [entryId('entryId', c.w.access.entryId)] }),
    otherPatient: (c) =>
      c.r.pick([
        () => ({ caller: c.r.pick([doctorB, doctorA]), args: [c.w.access.entryId], what: "confirms the researcher's access", expect: unauthorized('entryId') }),
        () => ({ caller: researcher, args: [c.w.uploadEntryId], what: 'an entry that is not an access request', expect: invalid('entryId') }),
      ])(),
  },
  // valid
  'consent:ListPatientLog': {
    base: (c) => ({ caller: c.w.attacker, args: [pseudonym('patientPseudonym', c.w.attacker.pseudonym), ...page()] }),
    otherPatient: (c) =>
      c.r.pick([
        () => ({ caller: c.r.pick([c.w.attacker, adminB]), args: [c.w.victim.pseudonym, '10', ''], what: "reads the victim's log", expect: unauthorized('patientPseudonym') }),
        () => ({ caller: c.w.attacker, args: [c.w.attacker.pseudonym, '100', `r:${compositeKey('emr.log~patient', [c.w.victim.pseudonym])}`], what: "a bookmark in the victim's log", expect: invalid('bookmark') }),
        () => ({ caller: c.w.attacker, args: [c.w.attacker.pseudonym, '100', `o:${compositeKey('emr.log~patient-override', [c.w.victim.pseudonym])}`], what: "a bookmark in the victim's emergency overrides", expect: invalid('bookmark') }),
      ])(),
    outOfRange: (c) => ({ caller: c.w.attacker, args: [c.w.attacker.pseudonym, '100', `${c.r.pick(['r:', 'o:'])}${c.r.pick(['\u0000', '\u0000emr.log\u0000', '\u0000emr.'])}`], what: 'a bookmark below the log', expect: invalid('bookmark') }),
  },
  // valid
  'consent:ListRecordLog': {
    base: (c) => ({ caller: c.w.attacker, args: [id('recordId', c.w.attackerRecord.recordId), ...page()] }),
    otherPatient: (c) =>
      c.r.pick([
        () => ({ caller: c.r.pick([c.w.attacker, adminB]), args: [c.w.victimRecord.recordId, '10', ''], what: "reads the victim's record log", expect: unauthorized('recordId') }),
        () => ({ caller: c.w.attacker, args: [c.w.attackerRecord.recordId, '100', compositeKey('emr.log~record', [c.w.victimRecord.recordId])], what: "a bookmark in the victim's record log", expect: invalid('bookmark') }),
      ])(),
  },
  // CONFLICT: the grant is registered already
  'consent:RegisterGrant': {
    base: (c) => ({ caller: c.w.victim, args: [json('registration', registrationInput(c.w), REGISTRATION_FIELDS)] }),
    otherPatient: (c) => ({ caller: c.w.attacker, args: [JSON.stringify({ ...registrationInput(c.w), grantId: c.fresh('grant') })], what: "the attacker registers a grant under the victim's consent", expect: unauthorized('patientPseudonym') }),
  },
  // valid
  'consent:ReadGrant': { base: (c) => ({ caller: researcher, args: [id('grantId', c.w.grant.grantId)] }) },
  // valid
  'consent:ListGrants': { base: () => ({ caller: adminB, args: [...page()] }) },
  // NOT_FOUND: no such grant (the proof is read first, then the grant)
  'consent:ReportKeyLeak': {
    base: (c) => ({ caller: adminB, args: [json('report', { kind: 'grant-key', grantId: c.fresh('grant'), proof: placeholderProof() }, LEAK_FIELDS)] }),
    otherPatient: (c) =>
      c.r.pick([
        () => ({ caller: c.w.attacker, args: [JSON.stringify({ kind: 'data-key', recordId: c.w.victimRecord.recordId })], what: "the attacker reports the victim's data key leaked", expect: unauthorized('recordId') }),
        () => ({ caller: adminB, args: [JSON.stringify({ kind: 'data-key', recordId: c.w.victimRecord.recordId })], what: "HospitalB's admin reports HospitalA's record's data key", expect: unauthorized('recordId') }),
        () => ({ caller: adminB, args: [JSON.stringify({ kind: 'grant-key', grantId: c.w.grant.grantId, proof: placeholderProof() })], what: "a proof that proves nothing, for the victim's grant", expect: invalid('proof') }),
      ])(),
  },
  // CONFLICT: this break-glass exists
  'emergency:RecordJustification': {
    base: (c) => ({
      caller: doctorA,
      args: [id('emergencyId', c.w.emergencyId)],
      transient: { name: 'justification', kind: 'text', value: JUSTIFICATION, outOfRange: (r) => r.pick(['', 'too short', ' '.repeat(40), `${' '.repeat(30)}short${'\n'.repeat(30)}`]) },
      ownOrg: true,
    }),
  },
  // NOT_FOUND: no justification recorded for this id
  'emergency:RequestBreakGlass': {
    base: (c) => ({
      caller: doctorA,
      args: [json('emergency', { emergencyId: c.fresh('bg'), patientPseudonym: c.w.victim.pseudonym, durationMinutes: 30 }, { emergencyId: { kind: 'id' }, patientPseudonym: { kind: 'pseudonym' }, category: { kind: 'category', optional: true }, durationMinutes: int(5, 1440) })],
    }),
  },
  // CONFLICT: approved already
  'emergency:ApproveBreakGlass': {
    base: (c) => ({ caller: doctorA2, args: [id('emergencyId', c.w.emergencyId)] }),
    otherPatient: (c) => ({ caller: c.r.pick([doctorB, doctorA]), args: [c.w.emergencyId], what: 'another hospital, or the requester himself, approves', expect: unauthorized('emergencyId') }),
  },
  // NOT_FOUND: no such record (an existing record under the break-glass would be decided and logged)
  'emergency:RequestEmergencyAccess': { base: (c) => ({ caller: doctorA, args: [id('recordId', c.fresh('rec')), id('emergencyId', c.w.emergencyId)] }) },
  // valid
  'emergency:ReadBreakGlass': {
    base: (c) => ({ caller: c.w.victim, args: [id('emergencyId', c.w.emergencyId)] }),
    otherPatient: (c) => ({ caller: c.r.pick([c.w.attacker, doctorB, adminB]), args: [c.w.emergencyId], what: "reads the victim's break-glass", expect: unauthorized('emergencyId') }),
  },
  // valid
  'emergency:ReadJustification': {
    base: (c) => ({ caller: doctorA, args: [id('emergencyId', c.w.emergencyId)], ownOrg: true }),
    otherPatient: (c) => ({ caller: doctorB, args: [c.w.emergencyId], ownOrg: true, what: "HospitalB reads HospitalA's justification", expect: unauthorized('emergencyId') }),
  },
  // CONFLICT: registered already
  'proxy:RegisterProxy': {
    base: () => ({ caller: HA('proxy'), args: [{ name: 'endpoint', kind: 'endpoint', value: 'http://127.0.0.1:7350', outOfRange: (r) => `http://127.0.0.1:${r.pick(['0', '65536', '99999', '00000'])}` }] }),
  },
  // CONFLICT: the proxy registered its own SM2 key when it started
  'proxy:RegisterSm2Key': {
    base: () => ({ caller: HA('proxy'), args: [json('key', sm2Key('proxy@HospitalAMSP'), { publicKey: { kind: 'hex64', refusedAs: ['publicKey', 'proof'] }, proof: { kind: 'signature' } })] }),
  },
  // NOT_FOUND: no such proxy
  'proxy:VoteStake': {
    base: (c) => ({ caller: adminA, args: [mspId('HospitalAMSP'), enrollmentId(c.fresh('nobody')), { name: 'amount', kind: 'decimal', value: '1', outOfRange: (r) => r.pick(['101', '999999', '1000000']) }] }),
  },
  // valid
  'proxy:ReadProxy': { base: () => ({ caller: doctorA, args: [mspId('HospitalAMSP'), enrollmentId('proxy')] }) },
  // valid
  'proxy:ListProxies': { base: () => ({ caller: doctorA, args: [] }) },
  // valid
  'proxy:ElectProxies': {
    base: (c) => ({ caller: c.w.victim, args: [id('grantId', c.fresh('grant')), id('consentId', c.w.consent.consentId), { name: 'n', kind: 'decimal', value: '3', outOfRange: (r) => r.pick(['0', '17', '99', '00']) }] }),
  },
  // INVALID_ARGUMENT[fragment]: the fragment verifies, there is nothing to report
  'proxy:ReportBadFragment': {
    base: (c) => ({ caller: researcher, args: [json('report', fragmentReport(c.w, 0), REPORT_FIELDS)] }),
    replayedSignature: (c) => {
      const [a, b] = [fragmentReport(c.w, 0), fragmentReport(c.w, 1)];
      return c.r.pick([
        () => ({ caller: researcher, args: [JSON.stringify({ ...a, signature: b.signature })], what: "another proxy's signature", expect: invalid('signature') }),
        () => ({ caller: researcher, args: [JSON.stringify({ ...a, fragment: b.fragment })], what: "the proxy's signature over another fragment", expect: invalid('signature') }),
      ])();
    },
  },
  // INVALID_ARGUMENT[entryId]: an upload entry, not an allowed access (the right entry would be a repeat, answered as before)
  'proxy:LogReEncryption': { base: (c) => ({ caller: HA('proxy'), args: [entryId('entryId', c.w.uploadEntryId), id('grantId', c.w.grant.grantId)] }) },
  // valid: the same key again changes nothing
  'directory:RegisterIdentity': { base: () => ({ caller: doctorA, args: [] }) },
  // valid
  'directory:ReadIdentity': { base: () => ({ caller: doctorA, args: [mspId('HospitalBMSP'), enrollmentId('doctor1')] }) },
  // INVALID_ARGUMENT[index]: another org's index
  'kgc:RegisterKeyCentre': {
    base: (c) => ({ caller: HA('kgc'), args: [json('key centre', keyCentreInput(c.w), KEY_CENTRE_FIELDS)] }),
    otherPatient: (c) => ({ caller: HB('kgc'), args: [JSON.stringify({ ...keyCentreInput(c.w), index: c.w.keyCentres.find((k) => k.mspId === 'HospitalAMSP')!.index })], what: "HospitalB's centre takes HospitalA's index", expect: invalid('index') }),
  },
  // valid
  'kgc:ListKeyCentres': { base: (c) => ({ caller: c.r.pick(c.identities), args: [] }) },
  // valid
  'consortium:ReadSettings': { base: (c) => ({ caller: c.r.pick(c.identities), args: [] }) },
  // valid: a proposal of the settings as network up adopted them; one org of three never adopts it
  'consortium:ProposeSettings': {
    base: (c) => ({
      caller: adminA,
      args: [json('proposal', { proposalId: c.fresh('settings'), settings: { members: ['HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP'], defaultCipherSuite: 'aes-256-gcm-stream.v1', categories: [], areas: [], areaDefaults: [] } }, { proposalId: { kind: 'id' }, settings: { kind: 'object', refusedAs: ['settings'] } })],
    }),
  },
  // NOT_FOUND: no such proposal
  'consortium:ApproveSettings': { base: (c) => ({ caller: adminB, args: [id('proposalId', c.fresh('settings'))] }) },
  // NOT_FOUND: no such proposal
  'consortium:ReadProposal': { base: (c) => ({ caller: adminA, args: [id('proposalId', c.fresh('settings'))] }) },
  // CONFLICT: the consortium's DKG is over (its open phase is 'outcome')
  'kgc:PostDkgMessage': {
    base: (c) => ({
      caller: kgcA,
      args: [json('message', { dkgId: CONSORTIUM_DKG, n: 3, threshold: 2, index: 1, body: { phase: 'commitments', pedersen: c.w.keyCentres[0]!.publicShares.slice(0, 2) } }, DKG_MESSAGE_FIELDS)],
    }),
  },
  // valid, and writes nothing: HospitalA's centre voted 'commitments' closed already (its complaints message)
  'kgc:CloseDkgPhase': {
    base: () => ({ caller: kgcA, args: [id('dkgId', CONSORTIUM_DKG), { name: 'phase', kind: 'purpose', value: 'commitments' }, { name: 'index', kind: 'decimal', value: '1', outOfRange: (r) => r.pick(['0', '33', '99', '00', '100']) }] }),
    otherPatient: () => ({ caller: kgcA, args: [CONSORTIUM_DKG, 'commitments', '2'], what: "HospitalA's centre votes for HospitalB's index", expect: unauthorized('index') }),
  },
  // valid
  'kgc:ReadDkg': { base: () => ({ caller: kgcA, args: [id('dkgId', CONSORTIUM_DKG)] }) },
  // valid: a new key
  'bench:PutState': { base: (c) => ({ caller: adminA, args: [id('key', c.fresh('bench'))] }) },
  // CONFLICT: written already
  'bench:ReadThenPutState': { base: (c) => ({ caller: adminA, args: [id('key', c.w.benchKey)] }) },
};
