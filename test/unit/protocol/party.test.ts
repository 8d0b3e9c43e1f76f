import fc from 'fast-check';
import { ChaincodeError, decodeParty, distinctParties, encodeParty, sameParty, type Party } from '@emr/protocol';

const mspId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9.-]{0,20}$/);
// Enrollment ids may hold '@' (e.g. an e-mail address): the last '@' still separates.
const enrollmentId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9@._-]{0,20}$/);
const party = fc.record({ mspId, enrollmentId });

describe('party encoding', () => {
  it('is enrollmentId@mspId', () => {
    expect(encodeParty({ mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' })).toBe('researcher1@ResearchInstituteMSP');
  });

  it('decodes what it encodes, for every valid MSP id and enrollment id', () => {
    fc.assert(fc.property(party, (p) => expect(decodeParty(encodeParty(p))).toEqual(p)));
  });

  it('encodes different parties differently, and equal parties equally', () => {
    fc.assert(
      fc.property(party, party, (a, b) => {
        expect(encodeParty(a) === encodeParty(b)).toBe(sameParty(a, b));
      }),
    );
  });

  it('compares org and enrollment id only: a caller is the party of his certificate whatever his role', () => {
    const p: Party = { mspId: 'HospitalAMSP', enrollmentId: 'doctor1' };
    expect(sameParty(p, { ...p, role: 'doctor' } as Party)).toBe(true);
    expect(sameParty(p, { mspId: 'HospitalBMSP', enrollmentId: 'doctor1' })).toBe(false);
    expect(sameParty(p, { mspId: 'HospitalAMSP', enrollmentId: 'doctor2' })).toBe(false);
  });

  it.each(['doctor1', '@HospitalAMSP', 'doctor1@', ''])('refuses %j, naming the field and the form', (text) => {
    let err: unknown;
    try {
      decodeParty(text, '--to');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChaincodeError);
    expect((err as ChaincodeError).field).toBe('--to');
    expect((err as Error).message).toMatch(/^INVALID_ARGUMENT\[--to\]: must be <enrollmentId>@<mspId>/);
  });

  it('counts distinct parties', () => {
    const a = { mspId: 'A', enrollmentId: 'x' };
    const b = { mspId: 'B', enrollmentId: 'x' };
    expect(distinctParties([a, b, { ...a }, { ...b, role: 'doctor' } as Party])).toBe(2);
    expect(distinctParties([])).toBe(0);
  });
});
