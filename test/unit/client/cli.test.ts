import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Consent, EmrRecord, LogEntry, PatientRegistration, Registration } from '../../../client/src';
import { AccessDeniedError, ConflictError, EmrClient, InvalidArgumentError, NotFoundError } from '../../../client/src';
import { auditLines } from '../../../client/src/cli/commands/audit';
import { consentBlock, consentState, listedConsent } from '../../../client/src/cli/commands/consents';
import { registrationText } from '../../../client/src/cli/commands/patient';
import { listedRecords, recordLines } from '../../../client/src/cli/commands/records';
import { noGrantsYet } from '../../../client/src/cli/commands/grant';
import { main } from '../../../client/src/cli/emr';
import { errorDocument, errorText } from '../../../client/src/cli/errors';
import {
  DEFAULT_HOP_LIMIT,
  DEFAULT_MAX_ACCESSES,
  UsageError,
  globalOptions,
  grantInput,
  parseCategory,
  parseGrantee,
  parseInteger,
  parseParty,
  parsePseudonym,
  parsePurpose,
  parseRecordIds,
  parseRecordType,
  parseTime,
  parseVia,
  requireViaUnlessPatient,
} from '../../../client/src/cli/options';
import { ProgressBar, formatBytes, formatProgress, progressStream } from '../../../client/src/cli/progress';

const PSEUDONYM = 'ab'.repeat(32);
const NOW = new Date('2026-03-01T12:00:00.000Z');

/** The UsageError a call throws (fails the test if it throws nothing or something else). */
function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('grantee and party parsing', () => {
  it('splits <enrollmentId>@<MSPID> into an identity grantee', () => {
    expect(parseGrantee('researcher1@ResearchInstituteMSP')).toEqual({ kind: 'identity', enrollmentId: 'researcher1', mspId: 'ResearchInstituteMSP' });
    expect(parseParty('specialist1@HospitalBMSP', '--to')).toEqual({ enrollmentId: 'specialist1', mspId: 'HospitalBMSP' });
  });

  it.each(['researcher1', '@HospitalAMSP', 'doctor1@', 'a@b@HospitalAMSP', 'doctor1@Hospital-A', 'doctor1@Hospital A', ''])('rejects %j naming the option', (value) => {
    const err = usageError(() => parseGrantee(value));
    expect(err.option).toBe('--grantee');
    expect(err.message).toMatch(/^--grantee /);
  });

  it('names the option it parses for', () => {
    expect(usageError(() => parseParty('nobody', '--to')).message).toMatch(/^--to must be <enrollmentId>@<MSPID>/);
  });
});

describe('option values', () => {
  it('accepts the purposes and record types of the chaincode, and nothing else', () => {
    for (const p of ['treatment', 'research', 'emergency', 'payment', 'audit']) expect(parsePurpose(p)).toBe(p);
    expect(usageError(() => parsePurpose('marketing')).message).toBe('--purpose must be one of treatment, research, emergency, payment, audit, got "marketing"');
    expect(parseRecordType('non-sharable')).toBe('non-sharable');
    expect(usageError(() => parseRecordType('private')).option).toBe('--type');
    expect(usageError(() => parseRecordType('secret', '<type>')).message).toMatch(/^<type> must be one of sharable, non-sharable/);
  });

  it('checks pseudonyms and categories with the chaincode rules, naming the option', () => {
    expect(parsePseudonym(PSEUDONYM)).toBe(PSEUDONYM);
    expect(usageError(() => parsePseudonym('patient1')).message).toMatch(/^--patient must be 64 lowercase hex characters.*got "patient1"$/);
    expect(usageError(() => parsePseudonym('AB'.repeat(32), '<pseudonym>')).option).toBe('<pseudonym>');
    expect(parseCategory('cardiology/ecg')).toBe('cardiology/ecg');
    expect(usageError(() => parseCategory('Cardiology')).message).toMatch(/^--category must be a department path/);
  });

  it('spells out the category rule, the 64-character segment limit included, and says what broke it', () => {
    expect(usageError(() => parseCategory('Cardiology')).message).toMatch(/1 to 8 segments .* each 1 to 64 characters/);
    const long = `cardiology/${'e'.repeat(70)}`;
    expect(usageError(() => parseCategory(long)).message).toMatch(/segment 2 is 70 characters long, the limit is 64/);
    expect(usageError(() => parseCategory('a/b/c/d/e/f/g/h/i')).message).toMatch(/it has 9 segments, the limit is 8/);
    expect(usageError(() => parseCategory('cardiology//ecg', '--category')).message).toMatch(/empty segment/);
    expect(parseCategory(`cardiology/${'e'.repeat(64)}`)).toBe(`cardiology/${'e'.repeat(64)}`);
  });

  it('takes whole numbers within bounds only', () => {
    expect(parseInteger('10', '--max-accesses', 1, 100)).toBe(10);
    for (const bad of ['0', '101', '1.5', '-1', '1e2', ' 3', 'ten']) expect(usageError(() => parseInteger(bad, '--max-accesses', 1, 100)).message).toMatch(/^--max-accesses must be a whole number from 1 to 100/);
  });

  it('normalises ISO-8601 times and rejects other dates', () => {
    expect(parseTime('2026-01-01T01:00:00+01:00', '--valid-from')).toBe('2026-01-01T00:00:00.000Z');
    expect(usageError(() => parseTime('tomorrow', '--valid-until')).option).toBe('--valid-until');
    expect(usageError(() => parseTime('2026-01-01', '--valid-until')).message).toMatch(/ISO-8601/);
  });

  it('parses comma-separated record ids, without repeats', () => {
    expect(parseRecordIds('rec-1, rec-2,')).toEqual(['rec-1', 'rec-2']);
    expect(usageError(() => parseRecordIds('rec-1,rec-1')).message).toMatch(/repeat/);
    expect(usageError(() => parseRecordIds(',')).option).toBe('--records');
    expect(usageError(() => parseRecordIds('rec 1')).option).toBe('--records');
  });

  it('takes one of a consent, a grant or --area', () => {
    expect(parseVia({ consent: 'consent-1' }, true)).toEqual({ consentId: 'consent-1' });
    expect(parseVia({ grant: 'grant-1' }, true)).toEqual({ grantId: 'grant-1' });
    expect(parseVia({}, false)).toBeUndefined();
    expect(parseVia({ area: true }, true)).toEqual({ area: true });
    expect(usageError(() => parseVia({}, true)).message).toMatch(/--consent .*, --grant .* or --area is required/);
    expect(usageError(() => parseVia({ consent: 'c', grant: 'g' }, false)).message).toMatch(/one of --consent, --grant or --area/);
    expect(usageError(() => parseVia({ consent: 'c', area: true }, false)).option).toBe('--area');
  });

  it('lets only a patient fetch without a consent or grant', () => {
    expect(() => requireViaUnlessPatient(undefined, 'patient')).not.toThrow();
    expect(() => requireViaUnlessPatient({ consentId: 'c' }, 'researcher')).not.toThrow();
    expect(() => requireViaUnlessPatient(undefined, undefined)).not.toThrow(); // unknown: connecting says why
    const err = usageError(() => requireViaUnlessPatient(undefined, 'researcher'));
    expect(err.option).toBe('--consent');
    expect(err.message).toMatch(/^fetch as a researcher needs --consent <consentId> .*, --grant <grantId> .* or --area/);
  });
});

describe('grantInput', () => {
  const base = { patient: PSEUDONYM, grantee: 'researcher1@ResearchInstituteMSP', purpose: 'research', category: 'cardiology' };

  it('fills the defaults: from a minute ago, for 24 hours, 10 accesses, hop limit 1', () => {
    expect(grantInput(base, NOW)).toEqual({
      patientPseudonym: PSEUDONYM,
      grantee: { kind: 'identity', enrollmentId: 'researcher1', mspId: 'ResearchInstituteMSP' },
      scope: { category: 'cardiology' },
      purpose: 'research',
      validFrom: '2026-03-01T11:59:00.000Z',
      validUntil: '2026-03-02T12:00:00.000Z',
      maxAccesses: DEFAULT_MAX_ACCESSES,
      hopLimit: DEFAULT_HOP_LIMIT,
    });
  });

  it('takes every option', () => {
    const input = grantInput({ ...base, type: 'sharable', records: 'rec-1,rec-2', validFrom: '2026-03-01T00:00:00Z', validUntil: '2026-04-01T00:00:00Z', maxAccesses: '3', hopLimit: '2' }, NOW);
    expect(input).toMatchObject({ scope: { category: 'cardiology', type: 'sharable', recordIds: ['rec-1', 'rec-2'] }, validFrom: '2026-03-01T00:00:00.000Z', validUntil: '2026-04-01T00:00:00.000Z', maxAccesses: 3, hopLimit: 2 });
  });

  it.each([
    ['no scope', { category: undefined }, '--category', /needs a scope/],
    ['a grantee without MSP', { grantee: 'researcher1' }, '--grantee', /<enrollmentId>@<MSPID>/],
    ['an unknown purpose', { purpose: 'fun' }, '--purpose', /one of/],
    ['no patient', { patient: undefined }, '--patient', /is required/],
    ['an end before the start', { validUntil: '2026-03-01T11:00:00Z' }, '--valid-until', /after --valid-from/],
    ['a window already past', { validFrom: '2026-01-01T00:00:00Z', validUntil: '2026-02-01T00:00:00Z' }, '--valid-until', /already past/],
    ['zero accesses', { maxAccesses: '0' }, '--max-accesses', /from 1 to/],
    ['a hop limit over 5', { hopLimit: '6' }, '--hop-limit', /from 1 to 5/],
  ])('rejects %s, naming the option', (_name, change, option, message) => {
    const err = usageError(() => grantInput({ ...base, ...change }, NOW));
    expect(err.option).toBe(option);
    expect(err.message).toMatch(message);
  });
});

describe('globalOptions', () => {
  const scriptDir = '/repo/client/dist/cli';

  it('finds the network directory: --network, else $EMR_NETWORK_DIR, else network/.run of the checkout', () => {
    expect(globalOptions({ org: 'HospitalA', user: 'doctor1', network: '/n' }, { EMR_NETWORK_DIR: '/e' }, scriptDir)).toEqual({ org: 'HospitalA', user: 'doctor1', network: '/n', json: false });
    expect(globalOptions({ org: 'HospitalA', user: 'doctor1' }, { EMR_NETWORK_DIR: '/e' }, scriptDir).network).toBe('/e');
    expect(globalOptions({ org: 'HospitalA', user: 'doctor1', json: true }, {}, scriptDir)).toMatchObject({ network: path.resolve('/repo/network/.run'), json: true });
  });

  it('requires --org and --user', () => {
    expect(usageError(() => globalOptions({ user: 'doctor1' }, {}, scriptDir)).option).toBe('--org');
    expect(usageError(() => globalOptions({ org: 'HospitalA', user: '' }, {}, scriptDir)).option).toBe('--user');
  });
});

describe('progress formatting', () => {
  it('draws the bar, percentage, done/total in the total\'s unit and the rate', () => {
    expect(formatProgress({ bytes: 5.2 * 1024 * 1024, total: 10 * 1024 * 1024, elapsedMs: 108.1, width: 10 })).toBe('[=====     ] 52% 5.2/10.0 MiB 48.1 MiB/s');
    expect(formatProgress({ bytes: 0, total: 2048, elapsedMs: 0 })).toBe('[          ] 0% 0.0/2.0 KiB 0 B/s');
    expect(formatProgress({ bytes: 2048, total: 2048, elapsedMs: 1000, width: 4 })).toBe('[====] 100% 2.0/2.0 KiB 2.0 KiB/s');
  });

  it('keeps within the bar when more bytes than the total arrive, and treats an empty total as done', () => {
    expect(formatProgress({ bytes: 3000, total: 2048, elapsedMs: 1000, width: 4 })).toBe('[====] 100% 2.9/2.0 KiB 2.9 KiB/s');
    expect(formatProgress({ bytes: 0, total: 0, elapsedMs: 10, width: 4 })).toBe('[====] 100% 0/0 B 0 B/s');
  });

  it('shows the bytes alone when the total is unknown, with a label in front', () => {
    expect(formatProgress({ bytes: 1536, elapsedMs: 1000, label: '2/5 files' })).toBe('2/5 files 1.5 KiB 1.5 KiB/s');
  });

  it('formats byte counts in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });

  it('draws only to a terminal, and never with --json', () => {
    const tty = { isTTY: true, write: () => true };
    expect(progressStream(false, tty)).toBe(tty);
    expect(progressStream(true, tty)).toBeUndefined();
    expect(progressStream(false, { isTTY: false, write: () => true })).toBeUndefined();
  });

  it('redraws in place at most once per interval, then ends the line', () => {
    let out = '';
    let now = 0;
    const bar = new ProgressBar({ write: (s: string) => ((out += s), true) } as any, { width: 4, intervalMs: 100, now: () => now });
    now = 1000; // the clock starts with the first report
    bar.update(0, 1024);
    now = 1050;
    bar.update(256, 1024); // within the interval: not drawn
    now = 2000;
    bar.update(512, 1024);
    now = 3000;
    bar.update(1024, 1024);
    bar.finish();
    expect(out.split('\r')).toEqual(['', '[    ] 0% 0.0/1.0 KiB 0 B/s', '[==  ] 50% 0.5/1.0 KiB 512 B/s', '[====] 100% 1.0/1.0 KiB 512 B/s', '[====] 100% 1.0/1.0 KiB 512 B/s\n']);
  });

  it('does nothing without a stream', () => {
    const bar = new ProgressBar(undefined);
    bar.update(1, 2);
    bar.finish();
    bar.clear();
  });
});

const entry = (over: Partial<LogEntry>): LogEntry => ({
  entryId: 'tx1.0',
  action: 'access-request',
  outcome: 'success',
  reason: null,
  agent: { enrollmentId: 'researcher1', mspId: 'ResearchInstituteMSP', role: 'researcher' },
  patientPseudonym: PSEUDONYM,
  recordId: 'rec-1',
  consentId: 'consent-1',
  emergencyId: null,
  purpose: 'research',
  recorded: '2026-03-01T12:00:00.000Z',
  txId: 'tx1',
  ...over,
});

const record = (over: Partial<EmrRecord>): EmrRecord => ({
  recordId: 'rec-1',
  patientPseudonym: PSEUDONYM,
  category: 'cardiology/ecg',
  type: 'sharable',
  cid: `b${'a'.repeat(58)}`,
  ciphertextSha256: 'cd'.repeat(32),
  cipherSuite: 'aes-256-gcm',
  encapsulatedKey: 'key',
  size: 2048,
  supersedes: null,
  patientApproval: null,
  version: 1,
  ownerMsp: 'HospitalAMSP',
  createdBy: 'doctor1',
  createdAt: '2026-03-01T10:00:00.000Z',
  txId: 'tx-rec',
  ...over,
} as EmrRecord);

const consent = (over: Partial<Consent> = {}): Consent => ({
  consentId: 'consent-1',
  patientPseudonym: PSEUDONYM,
  grantee: { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
  scope: { category: 'cardiology' },
  purpose: 'research',
  validFrom: '2026-03-01T00:00:00.000Z',
  validUntil: '2026-03-02T00:00:00.000Z',
  maxAccesses: 10,
  hopLimit: 2,
  status: 'active',
  requiredApprovals: [],
  approvals: [],
  accessCount: 3,
  createdBy: 'patient1',
  createdAt: '2026-03-01T09:00:00.000Z',
  txId: 'tx-consent',
  revokedAt: null,
  revokeTxId: null,
  ...over,
});

const registration = (over: Partial<Registration> = {}): Registration => ({
  grantId: 'grant-1',
  consentId: 'consent-1',
  delegatee: { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
  delegator: { mspId: 'HospitalAMSP', enrollmentId: 'patient1' },
  type: 'sharable',
  conditionHash: 'ef'.repeat(32),
  hop: 1,
  parentGrantId: null,
  proxies: [{ mspId: 'HospitalAMSP', enrollmentId: 'proxy' }],
  threshold: 1,
  commitments: [],
  grant: 'g',
  expiresAt: '2026-03-02T00:00:00.000Z',
  createdAt: '2026-03-01T09:00:01.000Z',
  txId: 'tx-grant',
  ...over,
} as Registration);

describe('output', () => {
  it('prints the audit trail under a header row, with a purpose column', () => {
    const lines = auditLines([entry({}), entry({ action: 'consent-grant', outcome: 'denied', reason: 'expired', recordId: null, purpose: null, agent: { enrollmentId: 'patient1', mspId: 'HospitalAMSP', role: 'patient' } })]);
    expect(lines).toEqual([
      'TIME                      ACTION          OUTCOME  AGENT                             PURPOSE   RECORD  CONSENT    REASON',
      '2026-03-01T12:00:00.000Z  access-request  success  researcher1@ResearchInstituteMSP  research  rec-1   consent-1  -',
      '2026-03-01T12:00:00.000Z  consent-grant   denied   patient1@HospitalAMSP             -         -       consent-1  expired',
    ]);
    expect(auditLines([])).toEqual([]);
    // The reader's own entries name him by his wallet name, not by his opaque enrollment id on chain.
    const opaque = { enrollmentId: 'pt-0123456789abcdef01234567', mspId: 'HospitalAMSP', role: 'patient' as const };
    const mine = auditLines([entry({ agent: opaque })], { party: opaque, name: 'alice' });
    expect(mine[1]).toMatch(/ alice@HospitalAMSP /);
    expect(auditLines([entry({ agent: opaque })])[1]).toMatch(/ pt-0123456789abcdef01234567@HospitalAMSP /);
  });

  it('lists records under a header row, oldest first, marking erased and superseded ones', () => {
    const records = listedRecords([
      record({ recordId: 'rec-2', version: 2, supersedes: 'rec-1', createdAt: '2026-03-01T11:00:00.000Z', ownerMsp: 'HospitalBMSP', size: 512 }),
      record({}),
      record({ recordId: 'rec-3', type: 'non-sharable', createdAt: '2026-03-01T12:00:00.000Z', erased: { erasedAt: '2026-03-01T13:00:00.000Z' } as EmrRecord['erased'] }),
    ]);
    expect(records.map((r) => [r.recordId, r.supersededBy])).toEqual([['rec-1', 'rec-2'], ['rec-2', null], ['rec-3', null]]);
    expect(recordLines(records)).toEqual([
      'RECORD  VERSION  CATEGORY        TYPE          OWNER         SIZE     CREATED                   MARKS',
      'rec-1   1        cardiology/ecg  sharable      HospitalAMSP  2.0 KiB  2026-03-01T10:00:00.000Z  superseded by rec-2',
      'rec-2   2        cardiology/ecg  sharable      HospitalBMSP  512 B    2026-03-01T11:00:00.000Z  -',
      'rec-3   1        cardiology/ecg  non-sharable  HospitalAMSP  2.0 KiB  2026-03-01T12:00:00.000Z  erased 2026-03-01T13:00:00.000Z',
    ]);
  });

  it('names a blinded category to whom the clear names were given, and shows the blinded form otherwise', () => {
    const blinded = `${'a'.repeat(32)}/${'b'.repeat(32)}`;
    const [named] = listedRecords([record({ category: blinded })], new Map([[blinded, 'psychiatry/inpatient']]));
    expect(named!.clearCategory).toBe('psychiatry/inpatient');
    expect(recordLines([named!])[1]).toMatch(/ psychiatry\/inpatient \(blinded\) /);
    const [plain] = listedRecords([record({ category: blinded })]);
    expect(plain).not.toHaveProperty('clearCategory');
    expect(recordLines([plain!])[1]).toContain(blinded);
  });

  it('says why a new consent has no grant yet, and what makes them', () => {
    const pending = consent({ status: 'pending', requiredApprovals: [{ role: 'doctor', count: 1 }] });
    expect(noGrantsYet(pending)).toBe(`the consent waits for its hospital's approvals (1 doctor); once they are given, run \`emr extend ${pending.consentId}\``);
    expect(noGrantsYet(consent())).toMatch(/^no sharable record of the patient is in scope; after uploading one, run `emr extend /);
  });

  it("states what a consent allows now, in the chaincode's order of checks", () => {
    expect(consentState(consent(), NOW)).toBe('active');
    expect(consentState(consent({ status: 'revoked' }), NOW)).toBe('revoked');
    expect(consentState(consent({ status: 'pending' }), NOW)).toBe('pending');
    expect(consentState(consent({ validFrom: '2026-03-01T12:00:00.001Z' }), NOW)).toBe('not-yet-valid');
    expect(consentState(consent({ validUntil: NOW.toISOString() }), NOW)).toBe('expired'); // the window is [validFrom, validUntil)
    expect(consentState(consent({ accessCount: 10 }), NOW)).toBe('exhausted');
    expect(consentState(consent({ accessCount: 10, validUntil: '2026-03-01T00:00:01.000Z' }), NOW)).toBe('expired');
  });

  it('lists a consent with its uses left and its grants, active or not', () => {
    const grants = [registration({ grantId: 'grant-2', hop: 2, parentGrantId: 'grant-1', expiresAt: '2026-03-01T11:00:00.000Z', delegatee: { mspId: 'HospitalBMSP', enrollmentId: 'specialist1' } }), registration({})];
    const listed = listedConsent(consent(), grants, NOW);
    expect(listed).toMatchObject({ consentId: 'consent-1', state: 'active', usesLeft: 7 });
    expect(listed.grants.map((g) => [g.grantId, g.hop, g.delegatee, g.active])).toEqual([
      ['grant-1', 1, 'researcher1@ResearchInstituteMSP', true],
      ['grant-2', 2, 'specialist1@HospitalBMSP', false],
    ]);
    expect(consentBlock(listed).split('\n')).toEqual([
      'consent    consent-1',
      'state      active',
      'uses left  7 of 10',
      'grantee    researcher1@ResearchInstituteMSP',
      'purpose    research',
      'scope      category cardiology',
      'valid      2026-03-01T00:00:00.000Z to 2026-03-02T00:00:00.000Z',
      'hop limit  2',
      'grants     grant-1  hop 1  to researcher1@ResearchInstituteMSP  sharable  active  expires 2026-03-02T00:00:00.000Z',
      '           grant-2  hop 2 under grant-1  to specialist1@HospitalBMSP  sharable  inactive  expires 2026-03-01T11:00:00.000Z',
    ]);
    const revoked = consentBlock(listedConsent(consent({ status: 'revoked', revokedAt: '2026-03-01T11:30:00.000Z' }), [], NOW));
    expect(revoked).toMatch(/^state {6}revoked at 2026-03-01T11:30:00.000Z$/m);
    expect(revoked).toMatch(/^grants {5}none$/m);
    expect(consentBlock(listedConsent(consent({ accessCount: 12 }), [], NOW))).toMatch(/^state {6}exhausted \(status active\)\nuses left {2}0 of 10$/m);
  });

  it('prints the full pseudonym of a registration', () => {
    const reg: PatientRegistration = { patientPseudonym: PSEUDONYM, homeMsp: 'HospitalAMSP', registeredAt: '2026-03-01T12:00:00.000Z', txId: 'tx-reg' };
    expect(registrationText(PSEUDONYM, reg).split('\n')).toEqual([
      `pseudonym      ${PSEUDONYM}`,
      'registered     yes',
      'home MSP       HospitalAMSP',
      'registered at  2026-03-01T12:00:00.000Z',
      'tx             tx-reg',
    ]);
    expect(registrationText(PSEUDONYM, null)).toBe(`pseudonym   ${PSEUDONYM}\nregistered  no`);
  });

  it('reports errors by class with their fields', () => {
    const denied = new AccessDeniedError('expired', 'the consent ended at 2026-01-01T00:00:00.000Z', entry({ outcome: 'denied', reason: 'expired', entryId: 'tx9.0' }));
    expect(errorText(denied)).toBe('emr: AccessDeniedError: access denied (expired): the consent ended at 2026-01-01T00:00:00.000Z [reason: expired; the denial is logged as entry tx9.0]');
    expect(errorDocument(denied)).toEqual({ error: { name: 'AccessDeniedError', message: 'access denied (expired): the consent ended at 2026-01-01T00:00:00.000Z', reason: 'expired', detail: 'the consent ended at 2026-01-01T00:00:00.000Z', entryId: 'tx9.0' } });
    const invalid = new InvalidArgumentError('INVALID_ARGUMENT', 'must be a department path', 'category');
    expect(errorText(invalid)).toBe('emr: InvalidArgumentError: INVALID_ARGUMENT[category]: must be a department path');
    expect(errorDocument(invalid).error).toMatchObject({ name: 'InvalidArgumentError', code: 'INVALID_ARGUMENT', field: 'category' });
    expect(errorDocument(new UsageError('--to is required', '--to'))).toEqual({ error: { name: 'UsageError', message: '--to is required', option: '--to' } });
  });
});

describe('main', () => {
  /** Runs the CLI with captured output against a network directory that does not exist. */
  async function run(...args: string[]) {
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: { write: (s: string) => ((stdout += s), true) },
      stderr: { isTTY: false, write: (s: string) => ((stderr += s), true) },
      env: {},
      scriptDir: __dirname,
    } as any;
    const code = await main(['node', 'emr', '--network', '/nonexistent/emr-network', ...args], io);
    return { code, stdout, stderr };
  }

  it('rejects a bad option value before connecting (human)', async () => {
    const r = await run('--org', 'HospitalA', '--user', 'patient1', 'grant', '--patient', PSEUDONYM, '--grantee', 'researcher1', '--purpose', 'research', '--category', 'cardiology');
    expect(r).toEqual({ code: 1, stdout: '', stderr: expect.stringMatching(/^emr: UsageError: --grantee must be <enrollmentId>@<MSPID>/) });
  });

  it('answers errors as one JSON document on stdout with --json', async () => {
    const r = await run('--org', 'HospitalA', '--user', 'doctor1', '--json', 'fetch', 'rec-1', '--consent', 'c1', '--purpose', 'gossip');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ error: { name: 'UsageError', message: expect.stringMatching(/^--purpose must be one of/), option: '--purpose' } });
  });

  it('reports missing global options and unknown commands as usage errors', async () => {
    expect((await run('whoami')).stderr).toMatch(/^emr: UsageError: required option '--org <org>' not specified/);
    const unknown = await run('--org', 'HospitalA', '--user', 'doctor1', '--json', 'frobnicate');
    expect(JSON.parse(unknown.stdout).error).toMatchObject({ name: 'UsageError', message: expect.stringMatching(/unknown command 'frobnicate'/) });
  });

  it('reports a missing network directory when it connects', async () => {
    const r = await run('--org', 'HospitalA', '--user', 'doctor1', 'whoami');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^emr: \w*Error: cannot read connection profile \/nonexistent\/emr-network\/network\.json/);
  });
});

describe('main, with a connection profile and a fake client', () => {
  let dir: string;
  let connect: jest.SpyInstance;
  let fake: Record<string, any>;
  const reg: PatientRegistration = { patientPseudonym: PSEUDONYM, homeMsp: 'HospitalAMSP', registeredAt: '2026-03-01T12:00:00.000Z', txId: 'tx-reg' };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'emr-cli-'));
    const users = (u: Record<string, string>) => Object.fromEntries(Object.entries(u).map(([id, role]) => [id, { role, dir: path.join(dir, id) }]));
    writeFileSync(
      path.join(dir, 'network.json'),
      JSON.stringify({ channel: 'emr', chaincode: 'emr', orgs: { HospitalA: { mspId: 'HospitalAMSP', users: users({ doctor1: 'doctor', patient1: 'patient' }) }, ResearchInstitute: { mspId: 'ResearchInstituteMSP', users: users({ researcher1: 'researcher' }) } } }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(() => {
    fake = {
      close: jest.fn(),
      connection: { mspId: 'HospitalAMSP', enrollmentId: 'pt-0123456789abcdef01234567', user: 'patient1' },
      ownPseudonym: () => PSEUDONYM,
      registerPatient: jest.fn(async () => reg),
      fetchRecord: jest.fn(async () => {
        throw new Error('fake fetch');
      }),
      auditTrail: jest.fn(async () => [entry({})]),
      index: { allRecordsByPatient: jest.fn(async () => [record({})]) },
      patientRecords: jest.fn(async (p: string) => fake.index.allRecordsByPatient(p)),
      clearCategories: jest.fn(async () => new Map<string, string>()),
      consents: {
        readPatient: jest.fn(async () => reg),
        listConsents: jest.fn(async () => ({ consents: [consent({ validFrom: '2020-01-01T00:00:00.000Z', validUntil: '2100-01-01T00:00:00.000Z' })], bookmark: '' })),
        allGrants: jest.fn(async () => [registration({ expiresAt: '2100-01-01T00:00:00.000Z' })]),
      },
    };
    connect = jest.spyOn(EmrClient, 'connect').mockImplementation(() => fake as unknown as EmrClient);
  });
  afterEach(() => connect.mockRestore());

  async function run(...args: string[]) {
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: { write: (s: string) => ((stdout += s), true) },
      stderr: { isTTY: false, write: (s: string) => ((stderr += s), true) },
      env: {},
      scriptDir: __dirname,
    } as any;
    const code = await main(['node', 'emr', '--network', dir, ...args], io);
    return { code, stdout, stderr };
  }

  it('tells a researcher who fetches without --consent or --grant what to pass, before connecting', async () => {
    const r = await run('--org', 'ResearchInstitute', '--user', 'researcher1', 'fetch', 'rec-1', '--purpose', 'research');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^emr: UsageError: fetch as a researcher needs --consent <consentId> .*, --grant <grantId> .* or --area/);
    const json = await run('--org', 'HospitalA', '--user', 'doctor1', '--json', 'fetch', 'rec-1');
    expect(JSON.parse(json.stdout).error).toMatchObject({ name: 'UsageError', option: '--consent', message: expect.stringMatching(/^fetch as a doctor needs/) });
    expect(connect).not.toHaveBeenCalled();
  });

  it('lets a patient fetch his own record without one', async () => {
    const r = await run('--org', 'HospitalA', '--user', 'patient1', 'fetch', 'rec-1');
    expect(r.stderr).toBe('emr: Error: fake fetch\n');
    expect(fake.fetchRecord).toHaveBeenCalledWith('rec-1', undefined, expect.objectContaining({ purpose: 'treatment' }));
  });

  it('registers the patient and prints the full pseudonym, with next steps on stderr', async () => {
    const r = await run('--org', 'HospitalA', '--user', 'patient1', 'patient', 'register');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${registrationText(PSEUDONYM, reg)}\n`);
    expect(r.stderr).toMatch(/^emr: registered\nnext steps:\n {2}P=[0-9a-f]{64}\n/);
    expect(r.stderr).toContain('--org HospitalA --user doctor1 upload ecg.json --patient $P --category cardiology/ecg');
    const json = await run('--org', 'HospitalA', '--user', 'patient1', '--json', 'patient', 'register');
    expect(JSON.parse(json.stdout)).toEqual({ ...reg, alreadyRegistered: false });
    expect(json.stderr).toBe('');
  });

  it('says so when the patient is already registered, prints the pseudonym and exits 0', async () => {
    fake.registerPatient.mockRejectedValue(new ConflictError('CONFLICT', 'this pseudonym is already registered', 'patientPseudonym'));
    const r = await run('--org', 'HospitalA', '--user', 'patient1', 'patient', 'register');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`pseudonym      ${PSEUDONYM}`);
    expect(r.stderr).toMatch(/^emr: already registered \(at 2026-03-01T12:00:00.000Z\); nothing was written/);
    const json = await run('--org', 'HospitalA', '--user', 'patient1', '--json', 'patient', 'register');
    expect(JSON.parse(json.stdout)).toEqual({ ...reg, alreadyRegistered: true });
  });

  it('refuses to register anyone but a patient, before connecting', async () => {
    const r = await run('--org', 'HospitalA', '--user', 'doctor1', 'patient', 'register');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('emr: UsageError: patient register is run by the patient himself (e.g. --org HospitalA --user patient1); doctor1 is a doctor\n');
    expect(connect).not.toHaveBeenCalled();
  });

  it('shows the own pseudonym and whether it is registered', async () => {
    fake.consents.readPatient.mockRejectedValue(new NotFoundError('NOT_FOUND', 'no patient is registered under pseudonym …', 'patientPseudonym'));
    const r = await run('--org', 'HospitalA', '--user', 'patient1', 'patient', 'show');
    expect(r).toEqual({ code: 0, stdout: `${registrationText(PSEUDONYM, null)}\n`, stderr: 'emr: not registered yet: emr --org HospitalA --user patient1 patient register\n' });
    const json = await run('--org', 'HospitalA', '--user', 'patient1', '--json', 'patient', 'show');
    expect(JSON.parse(json.stdout)).toEqual({ patientPseudonym: PSEUDONYM, registered: false, registration: null });
  });

  it('lists records, consents and the audit trail, human and --json', async () => {
    const records = await run('--org', 'HospitalA', '--user', 'doctor1', 'records', '--patient', PSEUDONYM);
    expect(records.stdout.split('\n')[0]).toMatch(/^RECORD +VERSION +CATEGORY +TYPE +OWNER +SIZE +CREATED +MARKS$/);
    expect(fake.index.allRecordsByPatient).toHaveBeenCalledWith(PSEUDONYM);
    expect(JSON.parse((await run('--org', 'HospitalA', '--user', 'doctor1', '--json', 'records', '--patient', PSEUDONYM)).stdout)).toEqual([{ ...record({}), supersededBy: null }]);

    const consents = await run('--org', 'HospitalA', '--user', 'patient1', 'consents', '--patient', PSEUDONYM);
    expect(consents.stdout).toMatch(/^consent {4}consent-1\nstate {6}active\nuses left {2}7 of 10\n/);
    expect(consents.stdout).toMatch(/^grants {5}grant-1 {2}hop 1 {2}to researcher1@ResearchInstituteMSP {2}sharable {2}active/m);
    const json = JSON.parse((await run('--org', 'HospitalA', '--user', 'patient1', '--json', 'consents', '--patient', PSEUDONYM)).stdout);
    expect(json).toEqual([expect.objectContaining({ consentId: 'consent-1', state: 'active', usesLeft: 7, grants: [expect.objectContaining({ grantId: 'grant-1', hop: 1, delegatee: 'researcher1@ResearchInstituteMSP', active: true })] })]);
    expect(fake.consents.allGrants).toHaveBeenCalledWith('consent-1');

    const audit = await run('--org', 'HospitalA', '--user', 'patient1', 'audit', PSEUDONYM);
    expect(audit.stdout.split('\n').slice(0, 2)).toEqual(auditLines([entry({})]));
    expect(JSON.parse((await run('--org', 'HospitalA', '--user', 'patient1', '--json', 'audit', PSEUDONYM)).stdout)).toEqual([entry({})]);
  });

  it('checks the pseudonym of records and consents before connecting', async () => {
    const r = await run('--org', 'HospitalA', '--user', 'patient1', 'consents', '--patient', 'patient1');
    expect(r.stderr).toMatch(/^emr: UsageError: --patient must be 64 lowercase hex characters/);
    expect((await run('--org', 'HospitalA', '--user', 'patient1', 'records')).stderr).toMatch(/^emr: UsageError: required option '--patient <pseudonym>' not specified/);
    expect(connect).not.toHaveBeenCalled();
  });
});
