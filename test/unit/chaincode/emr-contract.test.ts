import { EmrContract } from '../../../chaincode/src/emr-contract';
import { recordInput } from '../../support/fixtures';
import { MemoryState } from '../../support/memory-state';
import { chaincodeContext as context, identity, signAs } from '../../support/chaincode-context';
import { canonicalJson, createdRecord, recordSigningPayload } from '@emr/protocol';
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
    await expect(create(patient1, { ...input, patientSignature: signed({ ...fieldsOf(input), size: 1 }) })).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]: is not a valid signature/);
    await expect(create(patient1, { ...input, patientSignature: signed(fieldsOf(input), 'doctor1') })).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]/);
    await expect(create(identity('patient2', 'patient'), { ...input, patientSignature: signed(fieldsOf(input), 'patient2') })).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(create(doctor1, { ...input, patientSignature: signed(fieldsOf(input)) })).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]: is given by the patient/);
    await expect(create(researcher1, input, RI)).rejects.toThrow(/^UNAUTHORIZED: /);
    expect(state.data).toEqual(before);
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
    const change = { type: 'non-sharable', encapsulatedKey: 'bmV3LWNhcHN1bGU' };
    const body = (signature: string) => JSON.stringify({ recordId: record.recordId, ...change, signature });
    const good = signed({ ...stored, ...change });
    await expect(emr.SwitchType(as(A, doctor1), body(good))).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(emr.SwitchType(as(A, patient1), body(signed(stored)))).rejects.toThrow(/^INVALID_ARGUMENT\[signature\]/);
    await expect(emr.SwitchType(as(A, patient1), JSON.stringify({ recordId: record.recordId, type: 'secret', encapsulatedKey: 'x', signature: good }))).rejects.toThrow(/^INVALID_ARGUMENT\[type\]/);
    const switched = JSON.parse(await emr.SwitchType(as(A, patient1, '2026-01-01T07:00:00.000Z'), body(good)));
    expect(switched).toMatchObject({ ...change, version: 1, patientApproval: { signature: good } });
    expect(state.events.at(-1)).toEqual({ name: 'record.type-switched', payload: { recordId: record.recordId, type: 'non-sharable' } });
    const log = JSON.parse(await contracts.consent.ListRecordLog(as(A, patient1), record.recordId, '10', ''));
    expect(log.entries[0]).toMatchObject({ action: 'type-switch', agent: { enrollmentId: 'patient1' } });
    await expect(emr.SwitchType(as(A, patient1), body(good))).rejects.toThrow(/^CONFLICT\[type\]/);

    const v2 = recordInput({ supersedes: record.recordId });
    await emr.CreateRecord(as(A, doctor1), JSON.stringify(v2));
    const back = { ...switched, type: 'sharable', encapsulatedKey: 'b2xk' };
    await expect(emr.SwitchType(as(A, patient1), JSON.stringify({ recordId: record.recordId, type: 'sharable', encapsulatedKey: 'b2xk', signature: signed(back) }))).rejects.toThrow(/^CONFLICT\[recordId\]: .*superseded/);
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
