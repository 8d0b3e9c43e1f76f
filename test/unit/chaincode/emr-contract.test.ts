import { EmrContract } from '../../../chaincode/src/emr-contract';
import { recordInput } from '../../support/fixtures';
import { MemoryState } from '../../support/memory-state';
import { chaincodeContext as context, identity, signAs } from '../../support/chaincode-context';
import { deriveSm2Secret, sm2PublicKey, sm2Sign, sm2Verify, toBase64url } from '@emr/crypto';
import { canonicalJson, createdRecord, recordSigningPayload, sm2KeyPayload } from '@emr/protocol';
import { A, B, RI, admin, contracts, doctor1, patient1, researcher1, unitLedger } from '../../support/unit-ledger';

const doctor = { 'hf.EnrollmentID': 'doctor1', role: 'doctor' };
const researcher = { 'hf.EnrollmentID': 'researcher1', role: 'researcher' };

describe('EmrContract', () => {
  const contract = new EmrContract();

  it('creates from the caller\'s certificate and the transaction timestamp, answering only what it decided, as canonical JSON', async () => {
    const state = new MemoryState();
    const input = recordInput();
    await contracts.consent.RegisterPatient(context(state, A, patient1, { txId: 'tx-0' }), input.patientPseudonym);
    const out = await contract.CreateRecord(context(state, 'HospitalAMSP', doctor), JSON.stringify(input));
    const creation = JSON.parse(out);
    expect(out).toBe(canonicalJson(creation));
    expect(creation).toEqual({ recordId: input.recordId, version: 1, ownerMsp: 'HospitalAMSP', createdBy: 'doctor1', createdAt: '2026-01-01T00:00:00.250Z', txId: 'tx-1' });
    // The caller's input and the answer rebuild the stored record exactly (what the SDK returns).
    await expect(contract.ReadRecord(context(state, 'HospitalBMSP', researcher), input.recordId)).resolves.toBe(canonicalJson(createdRecord(input, creation)));
  });

  it('checks authorization before input, so a refused caller learns nothing about the rules', async () => {
    const ctx = context(new MemoryState(), 'ResearchInstituteMSP', researcher);
    await expect(contract.CreateRecord(ctx, 'not json')).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(contract.ListRecordsByPatient(ctx, 'x', '0', '')).rejects.toThrow(/^UNAUTHORIZED: /);
  });

  it('validates list arguments by name', async () => {
    const ctx = context(new MemoryState(), 'HospitalAMSP', doctor);
    await expect(contract.ListRecordsByPatient(ctx, 'Alice', '10', '')).rejects.toThrow(/^INVALID_ARGUMENT\[patientPseudonym\]/);
    await expect(contract.ListRecordsByPatient(ctx, 'a'.repeat(64), 'ten', '')).rejects.toThrow(/^INVALID_ARGUMENT\[pageSize\]/);
    await expect(contract.ReadRecord(ctx, '')).rejects.toThrow(/^INVALID_ARGUMENT\[recordId\]/);
  });

  it('WhoAmI answers the caller as read from the certificate', async () => {
    await expect(contract.WhoAmI(context(new MemoryState(), 'HospitalBMSP', doctor))).resolves.toBe('{"enrollmentId":"doctor1","mspId":"HospitalBMSP","role":"doctor"}');
  });
});

describe('patient-created and patient-signed records', () => {
  const { emr } = contracts;
  const signed = (r: Parameters<typeof recordSigningPayload>[0], by = 'patient1', msp = A) => signAs(msp, by, recordSigningPayload(r));
  /** The index fields as the chaincode will store them for a new version-1 record of HospitalA. */
  const fieldsOf = (input: ReturnType<typeof recordInput>) => ({ ...input, ownerMsp: A, version: 1, supersedes: null });

  it('the patient indexes his own record with his signature over the fields; the signature is kept and verifies', async () => {
    const { as } = await unitLedger();
    const input = recordInput();
    const patientSignature = signed(fieldsOf(input));
    const signedInput = { ...input, patientSignature };
    const creation = JSON.parse(await emr.CreateRecord(as(A, patient1), JSON.stringify(signedInput)));
    const record = JSON.parse(await emr.ReadRecord(as(A, patient1), input.recordId));
    expect(record).toMatchObject({ ownerMsp: A, createdBy: 'patient1', patientApproval: { signature: patientSignature } });
    expect(record).not.toHaveProperty('patientSignature');
    expect(createdRecord(signedInput, creation)).toEqual(record);
  });

  it('refuses a patient without a signature, with a signature over other fields or by another key, another patient, and a doctor passing a signature; nothing is written', async () => {
    const { state, as } = await unitLedger();
    const before = new Map(state.data);
    const input = recordInput();
    const create = (who: Record<string, string>, body: object, msp = A) => emr.CreateRecord(as(msp, who), JSON.stringify(body));
    await expect(create(patient1, input)).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]: is required/);
    await expect(create(patient1, { ...input, patientSignature: signed({ ...fieldsOf(input), size: 1 }) })).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]: is not a valid ECDSA P-256 \(SHA-256\) signature/);
    await expect(create(patient1, { ...input, patientSignature: signed(fieldsOf(input), 'doctor1') })).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]/);
    await expect(create(identity('patient2', 'patient'), { ...input, patientSignature: signed(fieldsOf(input), 'patient2') })).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(create(doctor1, { ...input, patientSignature: signed(fieldsOf(input)) })).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]: is given by the patient/);
    await expect(create(researcher1, input, RI)).rejects.toThrow(/^UNAUTHORIZED: /);
    expect(state.data).toEqual(before);
  });

  it('needs one capsule per ancestor of the category, in order: the parent first, the root last', async () => {
    const { state, as } = await unitLedger();
    const before = new Map(state.data);
    const input = recordInput({ category: 'cardiology/echo/stress' });
    const create = (body: object) => emr.CreateRecord(as(A, doctor1), JSON.stringify(body));
    const rule = /^INVALID_ARGUMENT\[ancestorKeys\]: must hold the data key encapsulated to each ancestor of 'cardiology\/echo\/stress' in this order: cardiology\/echo, cardiology, \* \(3 capsules\)/;
    await expect(create({ ...input, ancestorKeys: undefined })).rejects.toThrow(rule);
    await expect(create({ ...input, ancestorKeys: input.ancestorKeys.slice(1) })).rejects.toThrow(rule);
    await expect(create({ ...input, ancestorKeys: [...input.ancestorKeys, 'eHg'] })).rejects.toThrow(rule);
    await expect(create({ ...input, ancestorKeys: [input.ancestorKeys[0], 'not base64url!', input.ancestorKeys[2]] })).rejects.toThrow(/^INVALID_ARGUMENT\[ancestorKeys\[1\]\]: must be base64url/);
    expect(state.data).toEqual(before);
    await create(input);
    expect(JSON.parse(await emr.ReadRecord(as(A, doctor1), input.recordId)).ancestorKeys).toEqual(input.ancestorKeys);
  });

  it('the patient approves a record a doctor created, once; nobody else can', async () => {
    const { as, record } = await unitLedger();
    const stored = JSON.parse(await emr.ReadRecord(as(A, doctor1), record.recordId));
    expect(stored.patientApproval).toBeNull();
    await expect(emr.ApproveRecord(as(A, doctor1), record.recordId, signed(stored))).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(emr.ApproveRecord(as(A, identity('patient2', 'patient')), record.recordId, signed(stored, 'patient2'))).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(emr.ApproveRecord(as(A, patient1), record.recordId, signed({ ...stored, category: 'oncology' }))).rejects.toThrow(/^INVALID_ARGUMENT\[signature\]/);
    const signature = signed(stored);
    const approved = JSON.parse(await emr.ApproveRecord(as(A, patient1), record.recordId, signature));
    expect(approved.patientApproval.signature).toBe(signature);
    await expect(emr.ApproveRecord(as(A, patient1), record.recordId, signed(stored))).rejects.toThrow(/^CONFLICT\[recordId\]/);
  });

  it('only the patient switches the type, re-signing the switched fields; it is logged and announced; a superseded version cannot switch', async () => {
    const { state, as, record } = await unitLedger();
    const stored = JSON.parse(await emr.ReadRecord(as(A, doctor1), record.recordId));
    const change = { type: 'non-sharable', encapsulatedKey: 'bmV3LWNhcHN1bGU', ancestorKeys: ['bmV3LWNhcmRpb2xvZ3k', 'bmV3LXJvb3Q'] };
    const body = (signature: string) => JSON.stringify({ recordId: record.recordId, ...change, signature });
    const good = signed({ ...stored, ...change });
    await expect(emr.SwitchType(as(A, doctor1), body(good))).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(emr.SwitchType(as(A, patient1), body(signed(stored)))).rejects.toThrow(/^INVALID_ARGUMENT\[signature\]/);
    // Every capsule is switched: leaving the ancestors as they were would keep the old type's slots open.
    await expect(emr.SwitchType(as(A, patient1), JSON.stringify({ recordId: record.recordId, ...change, ancestorKeys: change.ancestorKeys.slice(1), signature: good }))).rejects.toThrow(
      /^INVALID_ARGUMENT\[ancestorKeys\]: must hold the data key encapsulated to each ancestor of 'cardiology\/ecg' in this order: cardiology, \* \(2 capsules\)/,
    );
    await expect(emr.SwitchType(as(A, patient1), JSON.stringify({ recordId: record.recordId, type: 'secret', encapsulatedKey: 'x', signature: good }))).rejects.toThrow(/^INVALID_ARGUMENT\[type\]/);
    const switched = JSON.parse(await emr.SwitchType(as(A, patient1, '2026-01-01T07:00:00.000Z'), body(good)));
    expect(switched).toMatchObject({ ...change, version: 1, patientApproval: { signature: good } });
    expect(state.events.at(-1)).toEqual({ name: 'record.type-switched', payload: { recordId: record.recordId, type: 'non-sharable' } });
    const log = JSON.parse(await contracts.consent.ListRecordLog(as(A, patient1), record.recordId, '10', ''));
    expect(log.entries[0]).toMatchObject({ action: 'type-switch', agent: { enrollmentId: 'patient1' } });
    await expect(emr.SwitchType(as(A, patient1), body(good))).rejects.toThrow(/^CONFLICT\[type\]/);

    const v2 = recordInput({ supersedes: record.recordId });
    await emr.CreateRecord(as(A, doctor1), JSON.stringify(v2));
    const back = { ...switched, type: 'sharable', encapsulatedKey: 'b2xk', ancestorKeys: ['b2xk', 'b2xk'] };
    await expect(emr.SwitchType(as(A, patient1), JSON.stringify({ recordId: record.recordId, type: 'sharable', encapsulatedKey: 'b2xk', ancestorKeys: ['b2xk', 'b2xk'], signature: signed(back) }))).rejects.toThrow(/^CONFLICT\[recordId\]: .*superseded/);
  });

  it("hospital-internal metadata goes to the owner's implicit collection only, is read by the owner's staff only, and is written once", async () => {
    const { state, as, record } = await unitLedger();
    const publicBefore = new Map(state.data);
    const metadata = JSON.stringify({ ward: '3B', localMrn: 'MRN-0042' });
    const put = (msp: string, who: Record<string, string>, transient?: Record<string, string>) => emr.PutInternalMetadata(as(msp, who, undefined, transient), record.recordId);
    await expect(put(B, doctor1, { metadata })).rejects.toThrow(/^UNAUTHORIZED\[recordId\]/);
    await expect(put(A, doctor1)).rejects.toThrow(/^INVALID_ARGUMENT\[metadata\]: is required as transient data/);
    await expect(put(A, doctor1, { metadata: '[1,2]' })).rejects.toThrow(/^INVALID_ARGUMENT\[metadata\]: must be a JSON object/);
    const out = JSON.parse(await put(A, doctor1, { metadata }));
    expect(out.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(state.data).toEqual(publicBefore); // no public write: endorsed by HospitalA alone
    expect([...state.private.keys()]).toEqual(['_implicit_org_HospitalAMSP']);
    expect(JSON.parse(await emr.ReadInternalMetadata(as(A, admin), record.recordId)).metadata).toEqual({ ward: '3B', localMrn: 'MRN-0042' });
    await expect(emr.ReadInternalMetadata(as(B, admin), record.recordId)).rejects.toThrow(/^UNAUTHORIZED\[recordId\]/);
    await expect(put(A, doctor1, { metadata })).rejects.toThrow(/^CONFLICT\[recordId\]/);
  });
});

describe('records of the SM suite: the patient signs with SM2', () => {
  const { consent, emr } = contracts;
  const SM = 'sm4-ctr-hmac-sm3-stream.v1';
  const d = deriveSm2Secret(Buffer.alloc(32, 1), 'unit');
  const publicKey = Buffer.from(sm2PublicKey(d)).toString('hex');
  const sm2 = (payload: string, secret = d) => toBase64url(sm2Sign(Buffer.from(payload, 'utf8'), secret));
  const fieldsOf = (input: ReturnType<typeof recordInput>) => ({ ...input, ownerMsp: A, version: 1, supersedes: null });
  const registerKey = (as: Awaited<ReturnType<typeof unitLedger>>['as'], patientPseudonym: string, key = publicKey, proof = sm2(sm2KeyPayload(patientPseudonym, key)), who = patient1) =>
    consent.RegisterSm2Key(as(A, who), JSON.stringify({ patientPseudonym, publicKey: key, proof }));

  it('the patient registers his SM2 key once, proving he holds it; nobody else can, and it never changes', async () => {
    const { state, as } = await unitLedger();
    const p = recordInput().patientPseudonym;
    const before = new Map(state.data);
    await expect(registerKey(as, p, publicKey, sm2(sm2KeyPayload(p, publicKey), d + 1n))).rejects.toThrow(/^INVALID_ARGUMENT\[proof\]: is not this key's SM2 signature/);
    await expect(registerKey(as, p, `04${'00'.repeat(64)}`)).rejects.toThrow(/^INVALID_ARGUMENT\[publicKey\]: is not a point of the SM2 curve/);
    await expect(registerKey(as, p, publicKey.toUpperCase())).rejects.toThrow(/^INVALID_ARGUMENT\[publicKey\]: must be an uncompressed SM2 public key/);
    await expect(registerKey(as, p, publicKey, undefined, identity('patient2', 'patient'))).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(registerKey(as, p, publicKey, undefined, doctor1)).rejects.toThrow(/^UNAUTHORIZED: role 'doctor'/);
    expect(state.data).toEqual(before);
    expect(JSON.parse(await registerKey(as, p))).toMatchObject({ patientPseudonym: p, sm2PublicKey: publicKey });
    expect(JSON.parse(await registerKey(as, p))).toMatchObject({ sm2PublicKey: publicKey }); // the same key again: no change
    const other = Buffer.from(sm2PublicKey(d + 1n)).toString('hex');
    await expect(registerKey(as, p, other, sm2(sm2KeyPayload(p, other), d + 1n))).rejects.toThrow(/^CONFLICT\[publicKey\]: this pseudonym already has another SM2 key/);
    expect(JSON.parse(await consent.ReadPatient(as(A, doctor1), p)).sm2PublicKey).toBe(publicKey);
  });

  it('an SM-suite record takes the SM2 signature by the registered key; ECDSA there, or SM2 on an AES record, is named as the wrong suite', async () => {
    const { state, as } = await unitLedger();
    const input = { ...recordInput(), cipherSuite: SM };
    const create = (body: object) => emr.CreateRecord(as(A, patient1), JSON.stringify(body));
    await expect(create({ ...input, patientSignature: sm2(recordSigningPayload(fieldsOf(input))) })).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]: cannot be checked: .* has registered no SM2 key/);
    await registerKey(as, input.patientPseudonym);
    const before = new Map(state.data);
    await expect(create({ ...input, patientSignature: signAs(A, 'patient1', recordSigningPayload(fieldsOf(input))) })).rejects.toThrow(
      /^INVALID_ARGUMENT\[patientSignature\]: is an ECDSA P-256 \(SHA-256\) signature, of the wrong suite: records of suite sm4-ctr-hmac-sm3-stream.v1 take the patient's SM2 \(SM3, Z value\) signature/,
    );
    await expect(create({ ...input, patientSignature: sm2(recordSigningPayload({ ...fieldsOf(input), size: 1 })) })).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]: is not a valid SM2 \(SM3, Z value\) signature/);
    await expect(create({ ...input, patientSignature: sm2(recordSigningPayload(fieldsOf(input)), d + 1n) })).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]: is not a valid SM2/);
    const aes = recordInput();
    await expect(create({ ...aes, patientSignature: sm2(recordSigningPayload(fieldsOf(aes))) })).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]: is an SM2 \(SM3, Z value\) signature, of the wrong suite: records of suite aes-256-gcm-stream.v1 take the patient's ECDSA/);
    expect(state.data).toEqual(before);
    const signature = sm2(recordSigningPayload(fieldsOf(input)));
    await create({ ...input, patientSignature: signature });
    const stored = JSON.parse(await emr.ReadRecord(as(A, doctor1), input.recordId));
    expect(stored).toMatchObject({ cipherSuite: SM, patientApproval: { signature } });
    // Anyone can check it against the key on the chain, with any SM2 implementation.
    expect(sm2Verify(Buffer.from(recordSigningPayload(stored), 'utf8'), Buffer.from(signature, 'base64url'), Buffer.from(publicKey, 'hex'))).toBe(true);
  });

  it('the patient approves a doctor\'s SM-suite record with SM2', async () => {
    const { as } = await unitLedger();
    const input = { ...recordInput(), recordId: 'rec-sm-approve', cipherSuite: SM };
    await emr.CreateRecord(as(A, doctor1), JSON.stringify(input));
    await registerKey(as, input.patientPseudonym);
    const stored = JSON.parse(await emr.ReadRecord(as(A, doctor1), input.recordId));
    await expect(emr.ApproveRecord(as(A, patient1), input.recordId, signAs(A, 'patient1', recordSigningPayload(stored)))).rejects.toThrow(/^INVALID_ARGUMENT\[signature\]: is an ECDSA .* of the wrong suite/);
    const approved = JSON.parse(await emr.ApproveRecord(as(A, patient1), input.recordId, sm2(recordSigningPayload(stored))));
    expect(sm2Verify(Buffer.from(recordSigningPayload(approved), 'utf8'), Buffer.from(approved.patientApproval.signature, 'base64url'), Buffer.from(publicKey, 'hex'))).toBe(true);
  });
});
