import { pseudonymOf } from '@emr/protocol';
import { chaincodeContext, identity, pseudonymFor, publicPemOf } from '../../support/chaincode-context';
import { consentInput, pseudonym, recordInput } from '../../support/fixtures';
import { A, B, RI, admin, contracts, doctor1, p1, patient1, researcher1, unitLedger as ledger } from '../../support/unit-ledger';

const { consent, directory, emr } = contracts;

describe('RegisterPatient', () => {
  it('the patient registers the pseudonym of his own key, once; the state holds neither his enrollment id nor his key', async () => {
    const { state, as } = await ledger();
    const stored = [...state.data.values()].map((v) => Buffer.from(v).toString('utf8')).find((v) => v.includes('"homeMsp"'))!;
    expect(JSON.parse(stored)).toEqual({ homeMsp: A, patientPseudonym: p1, registeredAt: '2026-01-01T06:00:00.000Z', txId: 'tx-1' });
    expect(p1).toBe(pseudonymOf(A, publicPemOf(A, 'patient1')));
    await expect(consent.RegisterPatient(as(A, patient1), p1)).rejects.toThrow(/^CONFLICT\[patientPseudonym\]/);
  });

  it('nobody else claims, squats or re-binds a pseudonym: not an admin of any org, not another patient, not a doctor', async () => {
    const { state, as } = await ledger();
    const before = new Map(state.data);
    const unclaimed = pseudonymFor(B, 'patient9'); // a patient who has not registered yet
    for (const msp of [A, B, RI]) {
      await expect(consent.RegisterPatient(as(msp, admin), unclaimed)).rejects.toThrow(/^UNAUTHORIZED: role 'admin'/);
      await expect(consent.RegisterPatient(as(msp, admin), p1)).rejects.toThrow(/^UNAUTHORIZED: role 'admin'/);
    }
    await expect(consent.RegisterPatient(as(B, doctor1), unclaimed)).rejects.toThrow(/^UNAUTHORIZED: role 'doctor'/);
    await expect(consent.RegisterPatient(as(B, patient1), p1)).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]: .*own enrollment key/);
    await expect(consent.RegisterPatient(as(B, patient1), unclaimed)).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(consent.RegisterPatient(as(A, identity('patient2', 'patient')), unclaimed)).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(consent.RegisterPatient(as(B, patient1), 'not-hex')).rejects.toThrow(/^INVALID_ARGUMENT\[patientPseudonym\]/);
    expect(state.data).toEqual(before);
    // the patient himself still can
    await consent.RegisterPatient(as(B, identity('patient9', 'patient')), unclaimed);
  });

  it('a record needs a registered patient: the takeover through an unclaimed pseudonym is refused and writes nothing', async () => {
    const { state, as } = await ledger();
    const unclaimed = pseudonymFor(B, 'patient1');
    const before = new Map(state.data);
    await expect(emr.CreateRecord(as(A, doctor1), JSON.stringify(recordInput({ patientPseudonym: unclaimed })))).rejects.toThrow(/^NOT_FOUND\[patientPseudonym\]: no patient is registered/);
    expect(state.data).toEqual(before);
  });

  it("a record another hospital files for a registered patient stays his: another org's patient cannot act as its owner", async () => {
    const { as } = await ledger();
    const fromB = recordInput();
    await emr.CreateRecord(as(B, doctor1, '2026-01-01T07:00:00.000Z'), JSON.stringify(fromB));
    const created = JSON.parse(await emr.ReadRecord(as(A, patient1), fromB.recordId));
    expect(created).toMatchObject({ patientPseudonym: p1, ownerMsp: B });
    await expect(emr.EraseRecord(as(B, patient1), fromB.recordId)).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(consent.ListPatientLog(as(B, patient1), p1, '10', '')).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    const log = JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '10', ''));
    expect(log.entries[0]).toMatchObject({ action: 'record-upload', recordId: fromB.recordId, agent: { mspId: B, enrollmentId: 'doctor1', role: 'doctor' } });
  });
});

describe('grantees must exist', () => {
  it('refuses unknown identities, orgs that are not of the channel, and grantees that never request access, writing nothing', async () => {
    const { state, as } = await ledger();
    const before = new Map(state.data);
    const grant = (grantee: unknown) => consent.GrantConsent(as(A, patient1), JSON.stringify({ ...consentInput(), grantee }));
    await expect(grant({ kind: 'identity', mspId: RI, enrollmentId: 'ghost' })).rejects.toThrow(/^NOT_FOUND\[grantee\]: no identity 'ghost@ResearchInstituteMSP' is registered/);
    await expect(grant({ kind: 'identity', mspId: A, enrollmentId: 'researcher9' })).rejects.toThrow(/^NOT_FOUND\[grantee\]: no identity 'researcher9@HospitalAMSP'/);
    await expect(grant({ kind: 'identity', mspId: 'NoSuchMSP', enrollmentId: 'researcher1' })).rejects.toThrow(/^NOT_FOUND\[grantee\.mspId\]: 'NoSuchMSP' is not an org of this channel/);
    await expect(grant({ kind: 'org', mspId: 'NoSuchMSP' })).rejects.toThrow(/^NOT_FOUND\[grantee\.mspId\]/);
    await expect(grant({ kind: 'role', mspId: 'NoSuchMSP', role: 'doctor' })).rejects.toThrow(/^NOT_FOUND\[grantee\.mspId\]/);
    await expect(grant({ kind: 'role', mspId: B, role: 'patient' })).rejects.toThrow(/^INVALID_ARGUMENT\[grantee\.role\]/);
    await expect(grant({ kind: 'identity', mspId: B, enrollmentId: 'admin' })).rejects.toThrow(/^INVALID_ARGUMENT\[grantee\]: 'admin@HospitalBMSP' is a admin/);
    expect(state.data).toEqual(before);
    await grant({ kind: 'identity', mspId: RI, enrollmentId: 'researcher1' });
    await grant({ kind: 'role', mspId: B, role: 'doctor' });
  });

  it('an identity registers itself with its certificate key, idempotently; patients are never listed', async () => {
    const { as } = await ledger();
    const entry = JSON.parse(await directory.RegisterIdentity(as(B, identity('nurse7', 'doctor'))));
    expect(entry).toMatchObject({ mspId: B, enrollmentId: 'nurse7', role: 'doctor', publicKey: publicPemOf(B, 'nurse7') });
    expect(JSON.parse(await directory.RegisterIdentity(as(B, identity('nurse7', 'doctor'))))).toEqual(entry);
    expect(JSON.parse(await directory.ReadIdentity(as(A, patient1), B, 'nurse7'))).toEqual(entry);
    await expect(directory.RegisterIdentity(as(A, patient1))).rejects.toThrow(/^UNAUTHORIZED: role 'patient'/);
    await expect(directory.ReadIdentity(as(A, patient1), A, 'patient1')).rejects.toThrow(/^NOT_FOUND\[enrollmentId\]/);
  });
});

describe('GrantConsent and RevokeConsent', () => {
  it('the patient grants; the grant is logged and announced by id only', async () => {
    const { state, as } = await ledger();
    const input = consentInput();
    const granted = JSON.parse(await consent.GrantConsent(as(A, patient1), JSON.stringify(input)));
    expect(granted).toMatchObject({ consentId: input.consentId, status: 'active', accessCount: 0, createdBy: 'patient1' });
    expect(state.events.at(-1)).toEqual({ name: 'consent.granted', payload: { consentId: input.consentId, status: 'active' } });
  });

  it('only the registered patient grants or revokes: not a doctor, not another patient, not the same name at another org', async () => {
    const { as } = await ledger();
    const input = consentInput();
    await expect(consent.GrantConsent(as(A, doctor1), JSON.stringify(input))).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(consent.GrantConsent(as(A, identity('patient2', 'patient')), JSON.stringify(input))).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(consent.GrantConsent(as(B, patient1), JSON.stringify(input))).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await consent.GrantConsent(as(A, patient1), JSON.stringify(input));
    await expect(consent.RevokeConsent(as(B, patient1), input.consentId)).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(consent.RevokeConsent(as(A, admin), input.consentId)).rejects.toThrow(/^UNAUTHORIZED: /);
  });

  it('bad input names the field and writes nothing', async () => {
    const { state, as } = await ledger();
    const before = new Map(state.data);
    await expect(consent.GrantConsent(as(A, patient1), JSON.stringify({ ...consentInput(), maxAccesses: -1 }))).rejects.toThrow(/^INVALID_ARGUMENT\[maxAccesses\]/);
    await expect(consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ patientPseudonym: pseudonym('nobody') })))).rejects.toThrow(/^NOT_FOUND\[patientPseudonym\]/);
    await expect(consent.RevokeConsent(as(A, patient1), 'no-such-consent')).rejects.toThrow(/^NOT_FOUND\[consentId\]/);
    expect(state.data).toEqual(before);
  });

  it('a duplicate consent id and a second revocation are conflicts', async () => {
    const { as } = await ledger();
    const input = consentInput();
    await consent.GrantConsent(as(A, patient1), JSON.stringify(input));
    await expect(consent.GrantConsent(as(A, patient1), JSON.stringify(input))).rejects.toThrow(/^CONFLICT\[consentId\]/);
    await consent.RevokeConsent(as(A, patient1), input.consentId);
    await expect(consent.RevokeConsent(as(A, patient1), input.consentId)).rejects.toThrow(/^CONFLICT\[consentId\]/);
  });
});

describe('RequestAccess', () => {
  it('allows the grantee within the consent, counts uses up to the maximum, then denies; revocation denies every later request', async () => {
    const { state, as, record } = await ledger();
    const input = consentInput({ maxAccesses: 2 });
    await consent.GrantConsent(as(A, patient1), JSON.stringify(input));
    const ask = () => consent.RequestAccess(as(RI, researcher1), record.recordId, input.consentId, 'research').then((r) => JSON.parse(r));
    expect((await ask()).entry).toMatchObject({ outcome: 'success', action: 'access-request', recordId: record.recordId, agent: { enrollmentId: 'researcher1', mspId: RI } });
    expect(state.events.at(-1)!.name).toBe('access.requested');
    await ask();
    expect(await ask()).toMatchObject({ entry: { outcome: 'denied', reason: 'exhausted' } });

    const other = consentInput();
    await consent.GrantConsent(as(A, patient1), JSON.stringify(other));
    await consent.RevokeConsent(as(A, patient1), other.consentId);
    const after = JSON.parse(await consent.RequestAccess(as(RI, researcher1), record.recordId, other.consentId, 'research'));
    expect(after).toMatchObject({ entry: { outcome: 'denied', reason: 'revoked' } });
  });

  it('denies (and logs) a non-grantee, the wrong purpose and a time outside the window', async () => {
    const { as, record } = await ledger();
    const input = consentInput();
    await consent.GrantConsent(as(A, patient1), JSON.stringify(input));
    const denied = async (msp: string, who: Record<string, string>, purpose: string, at?: string) =>
      JSON.parse(await consent.RequestAccess(as(msp, who, at), record.recordId, input.consentId, purpose)).entry.reason;
    expect(await denied(B, doctor1, 'research')).toBe('not-grantee');
    expect(await denied(RI, researcher1, 'treatment')).toBe('wrong-purpose');
    expect(await denied(RI, researcher1, 'research', '2026-01-03T00:00:00.000Z')).toBe('expired');
  });

  it('refuses patients, admins and proxies as requesters, and names bad arguments', async () => {
    const { as, record } = await ledger();
    await expect(consent.RequestAccess(as(A, patient1), record.recordId, 'c', 'research')).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(consent.RequestAccess(as(A, identity('proxy', 'proxy')), record.recordId, 'c', 'research')).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(consent.RequestAccess(as(RI, researcher1), record.recordId, 'c', 'fun')).rejects.toThrow(/^INVALID_ARGUMENT\[purpose\]/);
    await expect(consent.RequestAccess(as(RI, researcher1), 'no-such-record', 'c', 'research')).rejects.toThrow(/^NOT_FOUND\[recordId\]/);
    await expect(consent.RequestAccess(as(RI, researcher1), record.recordId, 'no-such-consent', 'research')).rejects.toThrow(/^NOT_FOUND\[consentId\]/);
  });
});

describe('reading consents and logs', () => {
  it('the patient lists his log newest first, across pages; a record has its own log', async () => {
    const { as, record } = await ledger();
    const input = consentInput({ maxAccesses: 10 });
    await consent.GrantConsent(as(A, patient1, '2026-01-01T07:00:00.000Z'), JSON.stringify(input));
    for (let h = 8; h <= 11; h++) await consent.RequestAccess(as(RI, researcher1, `2026-01-01T${String(h).padStart(2, '0')}:00:00.000Z`), record.recordId, input.consentId, 'research');
    const page1 = JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '3', ''));
    expect(page1.entries.map((e: { recorded: string }) => e.recorded)).toEqual(['2026-01-01T11:00:00.000Z', '2026-01-01T10:00:00.000Z', '2026-01-01T09:00:00.000Z']);
    const page2 = JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '3', page1.bookmark));
    expect(page2.entries.map((e: { action: string }) => e.action)).toEqual(['access-request', 'consent-grant', 'patient-registration']);
    const page3 = JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '3', page2.bookmark));
    expect(page3.entries.map((e: { action: string }) => e.action)).toEqual(['record-upload']);
    expect(page3.bookmark).toBe('');
    const recordLog = JSON.parse(await consent.ListRecordLog(as(A, admin), record.recordId, '10', ''));
    expect(recordLog.entries.map((e: { action: string }) => e.action)).toEqual(['access-request', 'access-request', 'access-request', 'access-request', 'record-upload']);
  });

  it('logs and consent lists are for the patient and his hospital admin only', async () => {
    const { as, record } = await ledger();
    await expect(consent.ListPatientLog(as(RI, researcher1), p1, '10', '')).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(consent.ListPatientLog(as(B, admin), p1, '10', '')).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(consent.ListPatientLog(as(A, identity('patient2', 'patient')), p1, '10', '')).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(consent.ListConsentsByPatient(as(B, admin), p1, '10', '')).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(consent.ListRecordLog(as(B, admin), record.recordId, '10', '')).rejects.toThrow(/^UNAUTHORIZED\[recordId\]/);
    await expect(consent.ListRecordLog(as(A, patient1), record.recordId, '10', '')).resolves.toContain('"entries"');
  });

  it('a consent is readable by its patient, the grantee and proxies, not by others', async () => {
    const { as } = await ledger();
    const input = consentInput();
    await consent.GrantConsent(as(A, patient1), JSON.stringify(input));
    await expect(consent.ReadConsent(as(RI, researcher1), input.consentId)).resolves.toContain(input.consentId);
    await expect(consent.ReadConsent(as(B, identity('proxy', 'proxy')), input.consentId)).resolves.toContain(input.consentId);
    await expect(consent.ReadConsent(as(A, patient1), input.consentId)).resolves.toContain(input.consentId);
    await expect(consent.ReadConsent(as(B, doctor1), input.consentId)).rejects.toThrow(/^UNAUTHORIZED\[consentId\]/);
    const list = JSON.parse(await consent.ListConsentsByPatient(as(A, patient1), p1, '10', ''));
    expect(list.consents.map((c: { consentId: string }) => c.consentId)).toEqual([input.consentId]);
  });
});

describe('RegisterGrant and ReadGrant', () => {
  const grantOf = async (as: (msp: string, attrs: Record<string, string>) => ReturnType<typeof chaincodeContext>, grantId: string) =>
    JSON.parse(await consent.ReadGrant(as(RI, researcher1), grantId)) as { registration: { delegator: unknown; hop: number }; active: boolean };

  it('the patient registers a hop-1 grant to the grantee; the grantee re-delegates within the hop limit; revocation deactivates both', async () => {
    const { state, as, grant } = await ledger();
    const c = consentInput({ hopLimit: 2 });
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const g1 = (await grant({ consentId: c.consentId })).input;
    await consent.RegisterGrant(as(A, patient1), JSON.stringify(g1));
    expect(state.events.at(-1)).toEqual({ name: 'grant.registered', payload: { grantId: g1.grantId, consentId: c.consentId } });
    expect(await grantOf(as, g1.grantId)).toMatchObject({ active: true, registration: { delegator: { mspId: A, enrollmentId: 'patient1' }, hop: 1 } });

    const g2 = (await grant({ consentId: c.consentId, hop: 2, parentGrantId: g1.grantId, delegatee: { mspId: B, enrollmentId: 'doctor1' } })).input;
    await expect(consent.RegisterGrant(as(B, doctor1), JSON.stringify(g2))).rejects.toThrow(/^UNAUTHORIZED\[parentGrantId\]/); // not the parent's delegatee
    await consent.RegisterGrant(as(RI, researcher1), JSON.stringify(g2));
    const g3 = (await grant({ consentId: c.consentId, hop: 3, parentGrantId: g2.grantId, delegatee: { mspId: A, enrollmentId: 'doctor2' } })).input;
    await expect(consent.RegisterGrant(as(B, doctor1), JSON.stringify(g3))).rejects.toThrow(/^INVALID_ARGUMENT\[hop\]/); // over the hop limit

    await consent.RevokeConsent(as(A, patient1), c.consentId);
    expect((await grantOf(as, g1.grantId)).active).toBe(false);
    expect((await grantOf(as, g2.grantId)).active).toBe(false);
    await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify((await grant({ consentId: c.consentId })).input))).rejects.toThrow(/^CONFLICT\[consentId\]/);
  });

  it("a grant reaches no further than its consent's category: the category itself or below, never above or beside", async () => {
    const { state, as, grant } = await ledger();
    const c = consentInput({ scope: { category: 'cardiology/echo' } });
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const before = new Map(state.data);
    for (const condition of ['cardiology', '*', 'cardiology/ecg', 'oncology', 'cardiology/echoes']) {
      const { input } = await grant({ consentId: c.consentId, condition });
      await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify(input))).rejects.toThrow(
        new RegExp(`^INVALID_ARGUMENT\\[conditionHash\\]: the grant's category '${condition.replace('*', '\\*')}' lies outside the consent's category 'cardiology/echo'`),
      );
    }
    expect(state.data).toEqual(before);
    for (const condition of ['cardiology/echo', 'cardiology/echo/stress']) await consent.RegisterGrant(as(A, patient1), JSON.stringify((await grant({ consentId: c.consentId, condition })).input));
  });

  it('refuses a re-delegation whose anchor is not its parent\'s (its delegatee could not check the key it gets)', async () => {
    const { as, grant } = await ledger();
    const c = consentInput({ hopLimit: 2 });
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const g1 = (await grant({ consentId: c.consentId })).input;
    await consent.RegisterGrant(as(A, patient1), JSON.stringify(g1));
    const other = (await grant({ consentId: c.consentId })).input; // made, never registered
    const g2 = (await grant({ consentId: c.consentId, hop: 2, parentGrantId: other.grantId, delegatee: { mspId: B, enrollmentId: 'doctor1' } })).input;
    await expect(consent.RegisterGrant(as(RI, researcher1), JSON.stringify({ ...g2, parentGrantId: g1.grantId }))).rejects.toThrow(/^INVALID_ARGUMENT\[grant\]: .*its anchor is not grant '.*'s anchor times the ρ it commits to/);
  });

  it('refuses the wrong delegator and the wrong delegatee of a hop-1 grant', async () => {
    const { as, grant } = await ledger();
    const c = consentInput();
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const g = JSON.stringify((await grant({ consentId: c.consentId })).input);
    await expect(consent.RegisterGrant(as(A, doctor1), g)).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    await expect(consent.RegisterGrant(as(A, admin), g)).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify((await grant({ consentId: c.consentId, delegatee: { mspId: B, enrollmentId: 'doctor1' } })).input))).rejects.toThrow(
      /^INVALID_ARGUMENT\[delegatee\]/,
    );
  });

  it.each([
    ['commitments', { commitments: ['x'] }],
    ['threshold', { threshold: 4 }],
    ['proxies', { proxies: [] }],
    ['expiresAt', { expiresAt: '2026-01-05T00:00:00.000Z' }], // after the consent's validUntil
    ['conditionHash', { conditionHash: 'not-a-hash' }],
    ['parentGrantId', { parentGrantId: 'g0' }], // only for hop > 1
  ])('bad %s is named and nothing is written', async (field, overrides) => {
    const { state, as, grant } = await ledger();
    const c = consentInput();
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const before = new Map(state.data);
    await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify({ ...(await grant({ consentId: c.consentId })).input, ...overrides }))).rejects.toThrow(new RegExp(`^INVALID_ARGUMENT\\[${field}`));
    expect(state.data).toEqual(before);
  });
});
