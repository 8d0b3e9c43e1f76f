import { BenchContract } from '../../../chaincode/src/bench-contract';
import { MemoryState } from '../../support/memory-state';
import { chaincodeContext as context, identity } from '../../support/chaincode-context';

const admin = identity('admin', 'admin');

describe('BenchContract (the ordering benchmark floors)', () => {
  const contract = new BenchContract();

  it('PutState writes one key; ReadThenPutState writes one key after reading it', async () => {
    const state = new MemoryState();
    await expect(contract.PutState(context(state, 'HospitalAMSP', admin), 'k-1')).resolves.toBe('{"key":"k-1"}');
    await expect(contract.ReadThenPutState(context(state, 'HospitalAMSP', admin), 'k-2')).resolves.toBe('{"key":"k-2"}');
    expect([...state.data.keys()].filter((k) => k.includes('emr.bench'))).toHaveLength(2);
  });

  it('ReadThenPutState refuses a key already written, as an upload refuses a record id taken', async () => {
    const state = new MemoryState();
    await contract.PutState(context(state, 'HospitalAMSP', admin), 'k-1');
    await expect(contract.ReadThenPutState(context(state, 'HospitalBMSP', admin), 'k-1')).rejects.toThrow(/^CONFLICT\[key\]: key 'k-1' was already written/);
  });

  it('is for org admins only and names a bad key', async () => {
    const doctor = identity('doctor1', 'doctor');
    await expect(contract.ReadThenPutState(context(new MemoryState(), 'HospitalAMSP', doctor), 'k-1')).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(contract.ReadThenPutState(context(new MemoryState(), 'HospitalAMSP', admin), 'no spaces')).rejects.toThrow(/^INVALID_ARGUMENT\[key\]/);
  });
});
