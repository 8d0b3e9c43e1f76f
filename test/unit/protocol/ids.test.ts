import { checkCategory, checkConsentId, checkEmergencyId, checkEnrollmentId, checkEntryId, checkGrantId, checkMspId, checkPseudonym, checkRecordId, isId } from '@emr/protocol';
import { rejection } from '../../support/rejection';

const hex64 = 'ab'.repeat(32);

describe('id checks', () => {
  it.each([
    ['record', checkRecordId, 'recordId'],
    ['consent', checkConsentId, 'consentId'],
    ['grant', checkGrantId, 'grantId'],
    ['break-glass', checkEmergencyId, 'emergencyId'],
  ] as const)('a %s id is 1-128 of A-Z a-z 0-9 . _ -; a bad one is named by its field', (_kind, check, field) => {
    for (const ok of ['r1', 'ECG-2026.01_a', 'x'.repeat(128)]) expect(check(ok)).toBe(ok);
    for (const bad of ['', '../etc', '-starts-with-dash', 'has space', 'x'.repeat(129), 'Ω']) {
      const err = rejection(() => check(bad));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.field).toBe(field);
      expect(err.message).toBe(`INVALID_ARGUMENT[${field}]: must be 1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit`);
    }
    expect(rejection(() => check('../etc', 'scope.recordIds[2]')).field).toBe('scope.recordIds[2]');
  });

  it('isId agrees with the checks and refuses what is not a string', () => {
    expect(isId('r1')).toBe(true);
    expect(isId('../etc')).toBe(false);
    expect(isId(42)).toBe(false);
    expect(isId(undefined)).toBe(false);
  });

  it('an access entry id is <txId>.<n>', () => {
    expect(checkEntryId('3f2a9c.0')).toBe('3f2a9c.0');
    expect(rejection(() => checkEntryId('a/b')).message).toBe('INVALID_ARGUMENT[entryId]: must be a log entry id');
    expect(rejection(() => checkEntryId('x'.repeat(161))).field).toBe('entryId');
  });

  it('a pseudonym is 64 lowercase hex characters, never a name', () => {
    expect(checkPseudonym(hex64)).toBe(hex64);
    const err = rejection(() => checkPseudonym('Alice Smith'));
    expect(err.message).toBe('INVALID_ARGUMENT[patientPseudonym]: must be 64 lowercase hex characters (a keyed hash, never a name)');
    expect(rejection(() => checkPseudonym(hex64.toUpperCase())).field).toBe('patientPseudonym');
    expect(rejection(() => checkPseudonym('nope', 'grantee.patientPseudonym')).field).toBe('grantee.patientPseudonym');
  });

  it('a category is a department path of 1 to 8 segments', () => {
    for (const ok of ['cardiology', 'cardiology/ecg', 'a/b/c/d/e/f/g/h']) expect(checkCategory(ok)).toBe(ok);
    for (const bad of ['', 'Cardiology', 'cardiology/', '/ecg', 'a/b/c/d/e/f/g/h/i', 42]) {
      const err = rejection(() => checkCategory(bad));
      expect(err.field).toBe('category');
      expect(err.detail).toMatch(/^must be a department path like 'cardiology\/ecg'/);
    }
    expect(rejection(() => checkCategory('X', 'scope.category')).field).toBe('scope.category');
  });

  it('an MSP id and an enrollment id have their own rules', () => {
    expect(checkMspId('HospitalAMSP')).toBe('HospitalAMSP');
    expect(rejection(() => checkMspId('Hospital A', 'grantee.mspId')).message).toBe('INVALID_ARGUMENT[grantee.mspId]: must be an MSP id');
    expect(rejection(() => checkMspId(undefined)).field).toBe('mspId');
    expect(checkEnrollmentId('alice@example.org')).toBe('alice@example.org');
    expect(rejection(() => checkEnrollmentId('a/b')).message).toBe('INVALID_ARGUMENT[enrollmentId]: must be an enrollment id: 1-128 characters of A-Z a-z 0-9 @ . _ -');
  });
});
