import { canonicalJson } from '../../../chaincode/src/canonical-json';
import { EmrContract } from '../../../chaincode/src/emr-contract';
import { recordInput } from '../../support/fixtures';
import { MemoryState } from '../../support/memory-state';
import { chaincodeContext as context } from '../../support/chaincode-context';

const doctor = { 'hf.EnrollmentID': 'doctor1', role: 'doctor' };
const researcher = { 'hf.EnrollmentID': 'researcher1', role: 'researcher' };

describe('EmrContract', () => {
  const contract = new EmrContract();

  it('creates from the caller\'s certificate and the transaction timestamp, answering canonical JSON', async () => {
    const state = new MemoryState();
    const input = recordInput();
    const out = await contract.CreateRecord(context(state, 'HospitalAMSP', doctor), JSON.stringify(input));
    const record = JSON.parse(out);
    expect(out).toBe(canonicalJson(record));
    expect(record).toMatchObject({ ownerMsp: 'HospitalAMSP', createdBy: 'doctor1', createdAt: '2026-01-01T00:00:00.250Z', txId: 'tx-1' });
    await expect(contract.ReadRecord(context(state, 'HospitalBMSP', researcher), input.recordId)).resolves.toBe(out);
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
