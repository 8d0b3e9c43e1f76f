import { authorize, callerOf, PERMISSIONS } from '../../../chaincode/src/access';
import { ROLES } from '@emr/protocol';

const identity = (attrs: Record<string, string>, mspId = 'HospitalAMSP') => ({
  getMSPID: () => mspId,
  getAttributeValue: (name: string) => attrs[name] ?? null,
});

describe('callerOf', () => {
  it('reads MSP, enrollment id and role from the certificate', () => {
    expect(callerOf(identity({ 'hf.EnrollmentID': 'doctor1', role: 'doctor' }))).toEqual({ mspId: 'HospitalAMSP', enrollmentId: 'doctor1', role: 'doctor' });
  });

  it('rejects a certificate without a known role attribute', () => {
    expect(() => callerOf(identity({ 'hf.EnrollmentID': 'x' }))).toThrow(/^UNAUTHORIZED: .*no valid role/);
    expect(() => callerOf(identity({ 'hf.EnrollmentID': 'x', role: 'superuser' }))).toThrow(/^UNAUTHORIZED: /);
  });

  it('rejects a certificate without an enrollment id', () => {
    expect(() => callerOf(identity({ role: 'doctor' }))).toThrow(/^UNAUTHORIZED: .*hf\.EnrollmentID/);
  });

  it("rejects an enrollment id of a group party's form, or any the parties' rule refuses", () => {
    for (const id of ['area:research', 'role:doctor', 'org:members', 'a b', '-x']) {
      expect(() => callerOf(identity({ 'hf.EnrollmentID': id, role: 'doctor' }))).toThrow(/^UNAUTHORIZED: certificate from HospitalAMSP has enrollment id .* which is not an enrollment id/);
    }
  });
});

describe('authorize', () => {
  it.each(Object.entries(PERMISSIONS))('%s admits exactly its listed roles', (tx, allowed) => {
    for (const role of ROLES) {
      const call = () => authorize({ mspId: 'M', enrollmentId: 'u', role }, tx as keyof typeof PERMISSIONS);
      if ((allowed as readonly string[]).includes(role)) expect(call).not.toThrow();
      else expect(call).toThrow(new RegExp(`^UNAUTHORIZED: role '${role}'`));
    }
  });
});
