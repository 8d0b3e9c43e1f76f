/**
 * Consortium settings: the first settings need every org they name; later ones a majority of
 * the members and every org they add; one approval per org, by its admins only; a proposal
 * over a version no longer in force cannot be adopted; bad input names its field and writes
 * nothing. The quorum rule itself is property-tested against a direct count.
 */
import fc from 'fast-check';
import { NO_SETTINGS, blindCategory, linkKey, missingApprovals, recordPseudonym, type Consent, type ConsortiumSettings, type PolicySet } from '@emr/protocol';
import { ConsortiumContract } from '../../../chaincode/src/consortium-contract';
import { chaincodeContext } from '../../support/chaincode-context';
import { MemoryState } from '../../support/memory-state';
import { consentInput, recordInput } from '../../support/fixtures';
import { A, B, RI, admin, contracts, doctor1, kgc, p1, patient1, unitLedger } from '../../support/unit-ledger';

const consortium = new ConsortiumContract();
const AES = 'aes-256-gcm-stream.v1';
const SM = 'sm4-ctr-hmac-sm3-stream.v1';

function ledger() {
  const state = new MemoryState();
  let n = 0;
  const as = (msp: string, who = admin) => chaincodeContext(state, msp, who, { txId: `tx-${++n}`, at: '2026-01-01T06:00:00.000Z' });
  const propose = (msp: string, proposalId: string, members: string[], defaultCipherSuite = AES, who = admin, categories: string[] = []) =>
    consortium.ProposeSettings(as(msp, who), JSON.stringify({ proposalId, settings: { members, defaultCipherSuite, categories, areas: [], areaDefaults: [] } })).then(JSON.parse);
  const approve = (msp: string, proposalId: string, who = admin) => consortium.ApproveSettings(as(msp, who), proposalId).then(JSON.parse);
  const settings = (): Promise<ConsortiumSettings> => consortium.ReadSettings(as(RI, doctor1)).then(JSON.parse);
  return { state, propose, approve, settings };
}

describe('consortium settings', () => {
  it('start at version 0 with AES as the default suite', async () => {
    await expect(ledger().settings()).resolves.toEqual(NO_SETTINGS);
  });

  it('the first settings are adopted once every org they name approved, and not before', async () => {
    const { propose, approve, settings } = ledger();
    expect(await propose(A, 'p1', [A, B, RI])).toMatchObject({ status: 'open', baseVersion: 0, approvals: [{ mspId: A }] });
    expect((await approve(B, 'p1')).status).toBe('open');
    expect((await settings()).version).toBe(0);
    expect((await approve(RI, 'p1')).status).toBe('adopted');
    expect(await settings()).toMatchObject({ version: 1, members: [A, B, RI].sort(), defaultCipherSuite: AES, proposalId: 'p1' });
  });

  it('later changes need a majority of the members, one approval per org, by admins of member orgs', async () => {
    const { propose, approve, settings } = ledger();
    await propose(A, 'p1', [A, B, RI]);
    await approve(B, 'p1');
    await approve(RI, 'p1');
    await propose(B, 'sm', [A, B, RI], SM);
    await expect(approve(B, 'sm')).rejects.toThrow(/^CONFLICT\[proposalId\]: HospitalBMSP has already approved/);
    await expect(approve(A, 'sm', doctor1)).rejects.toThrow(/^UNAUTHORIZED: role 'doctor'/);
    await expect(approve('OutsiderMSP', 'sm')).rejects.toThrow(/^UNAUTHORIZED: OutsiderMSP is neither a member/);
    await expect(propose('OutsiderMSP', 'x', [A, B, RI])).rejects.toThrow(/^UNAUTHORIZED: OutsiderMSP is not a member/);
    expect((await settings()).defaultCipherSuite).toBe(AES);
    expect((await approve(A, 'sm')).status).toBe('adopted'); // 2 of 3
    expect(await settings()).toMatchObject({ version: 2, defaultCipherSuite: SM });
    await expect(approve(RI, 'sm')).rejects.toThrow(/^CONFLICT\[proposalId\]: proposal 'sm' is adopted/);
  });

  it('an org joins only with its own approval; a proposal over an older version cannot be adopted', async () => {
    const { propose, approve, settings } = ledger();
    await propose(A, 'p1', [A, B]);
    await approve(B, 'p1');
    await propose(A, 'join', [A, B, RI]);
    expect((await approve(B, 'join')).status).toBe('open'); // the majority, but not the joining org
    await propose(B, 'other', [A, B], SM);
    expect((await approve(A, 'other')).status).toBe('adopted');
    await expect(approve(RI, 'join')).rejects.toThrow(/^CONFLICT\[proposalId\]: proposal 'join' changes version 1, but version 2 is in force now/);
    expect((await settings()).members).toEqual([A, B].sort());
  });

  it('refuses bad input by field, and writes nothing', async () => {
    const { state, propose } = ledger();
    const before = new Map(state.data);
    const raw = (body: unknown) => consortium.ProposeSettings(chaincodeContext(state, A, admin, { txId: 'tx-x' }), typeof body === 'string' ? body : JSON.stringify(body));
    await expect(raw('nope')).rejects.toThrow(/^INVALID_ARGUMENT\[proposal\]/);
    await expect(raw({ proposalId: 'p', settings: { members: [A], defaultCipherSuite: 'rot13', categories: [], areas: [], areaDefaults: [] } })).rejects.toThrow(/^INVALID_ARGUMENT\[settings.defaultCipherSuite\]: must be one of aes-256-gcm-stream.v1, sm4-ctr-hmac-sm3-stream.v1/);
    await expect(raw({ proposalId: 'p', settings: { members: [], defaultCipherSuite: AES, categories: [], areas: [], areaDefaults: [] } })).rejects.toThrow(/^INVALID_ARGUMENT\[settings.members\]/);
    await expect(raw({ proposalId: 'p', settings: { members: [A, A], defaultCipherSuite: AES, categories: [], areas: [], areaDefaults: [] } })).rejects.toThrow(/^INVALID_ARGUMENT\[settings.members\]: must name each org once/);
    await expect(raw({ proposalId: 'p', settings: { members: ['bad msp'], defaultCipherSuite: AES, categories: [], areas: [], areaDefaults: [] } })).rejects.toThrow(/^INVALID_ARGUMENT\[settings.members\[0\]\]/);
    await expect(raw({ proposalId: 'p', settings: { members: [A], defaultCipherSuite: AES, categories: [], areas: [], areaDefaults: [], quorum: 1 } })).rejects.toThrow(/^INVALID_ARGUMENT\[settings.quorum\]/);
    await expect(raw({ proposalId: 'p', settings: { members: [A], defaultCipherSuite: AES, categories: [] } })).rejects.toThrow(/^INVALID_ARGUMENT\[settings.areas\]/);
    await expect(raw({ proposalId: 'p p', settings: { members: [A], defaultCipherSuite: AES, categories: [], areas: [], areaDefaults: [] } })).rejects.toThrow(/^INVALID_ARGUMENT\[proposalId\]/);
    expect(state.data).toEqual(before);
    await propose(A, 'p', [A, B]);
    await expect(propose(A, 'p', [A, B])).rejects.toThrow(/^CONFLICT\[proposalId\]: proposal 'p' already exists/);
  });
});

describe("the consortium's department tree", () => {
  it('once declared, records and consents must name a category in it (a declared path or an ancestor of one), named in the error', async () => {
    const { state, as } = await unitLedger();
    const settings = { members: [A, B, RI], defaultCipherSuite: AES, categories: ['cardiology/ecg', 'cardiology/echo', 'oncology/biopsy'], areas: [], areaDefaults: [] };
    await consortium.ProposeSettings(as(A, admin), JSON.stringify({ proposalId: 'tree', settings }));
    await consortium.ApproveSettings(as(B, admin), 'tree');
    await consortium.ApproveSettings(as(RI, admin), 'tree');
    const before = new Map(state.data);
    const unknown = /is not a category of the consortium \(emr consortium show\); its categories: cardiology\/ecg, cardiology\/echo, oncology\/biopsy/;
    await expect(contracts.emr.CreateRecord(as(A, doctor1), JSON.stringify(recordInput({ category: 'cardiolgy/ecg' })))).rejects.toThrow(new RegExp(`^INVALID_ARGUMENT\\[category\\]: 'cardiolgy/ecg' ${unknown.source}`));
    await expect(contracts.emr.CreateRecord(as(A, doctor1), JSON.stringify(recordInput({ category: 'cardiology/ecg/stress' })))).rejects.toThrow(/^INVALID_ARGUMENT\[category\]/);
    await expect(contracts.consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope: { category: 'cardiolgy' } })))).rejects.toThrow(new RegExp(`^INVALID_ARGUMENT\\[scope.category\\]: 'cardiolgy' ${unknown.source}`));
    expect(state.data).toEqual(before);
    for (const category of ['cardiology/ecg', 'cardiology', 'oncology/biopsy']) await contracts.emr.CreateRecord(as(A, doctor1), JSON.stringify(recordInput({ category })));
    await contracts.consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope: { category: 'oncology' } })));
  });

  it('a blinded path is taken by its shape (the SDK checked the clear one), and gets past an approval policy only with the home key centre\'s attestation', async () => {
    const { state, as } = await unitLedger();
    const settings = { members: [A, B, RI], defaultCipherSuite: AES, categories: ['oncology/biopsy'], areas: [], areaDefaults: [] };
    await consortium.ProposeSettings(as(A, admin), JSON.stringify({ proposalId: 'tree', settings }));
    await consortium.ApproveSettings(as(B, admin), 'tree');
    await consortium.ApproveSettings(as(RI, admin), 'tree');
    const key = new Uint8Array(32).fill(3);
    const blinded = blindCategory(key, 'oncology/biopsy');
    const record = recordInput({ category: blinded });
    expect(JSON.parse(await contracts.emr.CreateRecord(as(A, doctor1), JSON.stringify(record))).recordId).toBe(record.recordId);
    const scope = { category: blindCategory(key, 'oncology') };
    expect(JSON.parse(await contracts.consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope })))).status).toBe('active');
    // Once HospitalA has a policy, a consent on a blinded path needs its key centre's attestation; by record it is refused; one on every category still gets the policy.
    const set = JSON.parse(await contracts.consent.SetApprovalPolicy(as(A, admin), JSON.stringify({ category: 'oncology', approvals: [{ role: 'doctor', count: 1 }] }))) as PolicySet;
    const before = new Map(state.data);
    await expect(contracts.consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope })))).rejects.toThrow(/^INVALID_ARGUMENT\[scope.category\]: is blinded, and HospitalAMSP's key centre has not attested what its approval policies require of it/);
    await expect(contracts.consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope: { recordIds: [record.recordId] } })))).rejects.toThrow(/^INVALID_ARGUMENT\[scope.recordIds\]: reaches a blinded category/);
    const attestation = { patientPseudonym: p1, category: scope.category, requiredApprovals: [{ role: 'doctor', count: 1 }], policiesTxId: set.txId };
    // Only the home hospital's key centre attests, for the policies in force, and only a blinded path.
    await expect(contracts.consent.AttestBlindedReach(as(B, kgc), JSON.stringify(attestation))).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]: only HospitalAMSP's key centre/);
    await expect(contracts.consent.AttestBlindedReach(as(A, admin), JSON.stringify(attestation))).rejects.toThrow(/^UNAUTHORIZED/);
    await expect(contracts.consent.AttestBlindedReach(as(A, patient1), JSON.stringify(attestation))).rejects.toThrow(/^UNAUTHORIZED/);
    await expect(contracts.consent.AttestBlindedReach(as(A, kgc), JSON.stringify({ ...attestation, policiesTxId: 'tx-1' }))).rejects.toThrow(/^CONFLICT\[policiesTxId\]/);
    await expect(contracts.consent.AttestBlindedReach(as(A, kgc), JSON.stringify({ ...attestation, category: 'oncology' }))).rejects.toThrow(/^INVALID_ARGUMENT\[category\]: must be a blinded path/);
    expect(state.data).toEqual(before);
    await contracts.consent.AttestBlindedReach(as(A, kgc), JSON.stringify(attestation));
    const pending = JSON.parse(await contracts.consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope })))) as Consent;
    expect([pending.status, pending.requiredApprovals]).toEqual(['pending', [{ role: 'doctor', count: 1 }]]);
    // A policy change voids the attestation until the centre attests again.
    await contracts.consent.SetApprovalPolicy(as(A, admin), JSON.stringify({ category: 'psychiatry', approvals: [{ role: 'admin', count: 1 }] }));
    await expect(contracts.consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope })))).rejects.toThrow(/^CONFLICT\[scope.category\]: HospitalAMSP's approval policies changed after its key centre attested this blinded category/);
    expect(JSON.parse(await contracts.consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope: { type: 'sharable' } })))).status).toBe('pending');
  });
});

describe('a consortium that blinds categories (docs/privacy.md)', () => {
  it('refuses a new clear category on records, consents, area rules and break-glass, and defaults that name one', async () => {
    const { state, as } = await unitLedger();
    const areas = [{ name: 'research', members: [{ org: RI, roles: ['researcher'] }] }];
    const settings = { members: [A, B, RI], defaultCipherSuite: AES, categories: [], areas, areaDefaults: [{ area: 'research', purposes: ['research'], category: 'oncology' }], blindCategories: true };
    await expect(consortium.ProposeSettings(as(A, admin), JSON.stringify({ proposalId: 'blind', settings }))).rejects.toThrow(/^INVALID_ARGUMENT\[settings.areaDefaults\[0\].category\]: names a category, which matches no blinded record/);
    await expect(consortium.ProposeSettings(as(A, admin), JSON.stringify({ proposalId: 'blind', settings: { ...settings, blindCategories: 'yes' } }))).rejects.toThrow(/^INVALID_ARGUMENT\[settings.blindCategories\]: must be true or false/);
    await consortium.ProposeSettings(as(A, admin), JSON.stringify({ proposalId: 'blind', settings: { ...settings, areaDefaults: [{ area: 'research', purposes: ['research'] }] } }));
    await consortium.ApproveSettings(as(B, admin), 'blind');
    await consortium.ApproveSettings(as(RI, admin), 'blind');
    const before = new Map(state.data);
    const clear = /: is a clear category, and the consortium blinds categories/;
    await expect(contracts.emr.CreateRecord(as(A, doctor1), JSON.stringify(recordInput({ category: 'oncology/biopsy' })))).rejects.toThrow(new RegExp(`^INVALID_ARGUMENT\\[category\\]${clear.source}`));
    await expect(contracts.consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope: { category: 'oncology' } })))).rejects.toThrow(new RegExp(`^INVALID_ARGUMENT\\[scope.category\\]${clear.source}`));
    await expect(contracts.consent.SetAreaPolicy(as(A, patient1), JSON.stringify({ patientPseudonym: p1, area: 'research', purposes: ['research'], category: 'oncology' }))).rejects.toThrow(new RegExp(`^INVALID_ARGUMENT\\[category\\]${clear.source}`));
    await expect(contracts.emergency.RequestBreakGlass(as(A, doctor1), JSON.stringify({ emergencyId: 'eg-1', patientPseudonym: p1, category: 'oncology', durationMinutes: 30 }))).rejects.toThrow(new RegExp(`^INVALID_ARGUMENT\\[category\\]${clear.source}`));
    expect(state.data).toEqual(before);
    // The blinded forms, and a consent with no category, go through.
    const key = new Uint8Array(32).fill(5);
    await contracts.emr.CreateRecord(as(A, doctor1), JSON.stringify(recordInput({ category: blindCategory(key, 'oncology/biopsy') })));
    await contracts.consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope: { category: blindCategory(key, 'oncology') } })));
    await contracts.consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope: { type: 'sharable' } })));
    await contracts.consent.SetAreaPolicy(as(A, patient1), JSON.stringify({ patientPseudonym: p1, area: 'research', purposes: ['research'], category: blindCategory(key, 'oncology') }));
  });
});

describe('a consortium that files records unlinked (docs/privacy.md, "Linkability")', () => {
  it("refuses staff's new records under a patient's own pseudonym; takes record pseudonyms, versions and the patient's own filings", async () => {
    const { state, as, record } = await unitLedger();
    const settings = { members: [A, B, RI], defaultCipherSuite: AES, categories: [], areas: [], areaDefaults: [], unlinkRecords: true };
    await expect(consortium.ProposeSettings(as(A, admin), JSON.stringify({ proposalId: 'unlink', settings: { ...settings, unlinkRecords: 1 } }))).rejects.toThrow(/^INVALID_ARGUMENT\[settings.unlinkRecords\]: must be true or false/);
    await consortium.ProposeSettings(as(A, admin), JSON.stringify({ proposalId: 'unlink', settings }));
    await consortium.ApproveSettings(as(B, admin), 'unlink');
    await consortium.ApproveSettings(as(RI, admin), 'unlink');
    expect(JSON.parse(await consortium.ReadSettings(as(RI, doctor1))).unlinkRecords).toBe(true);
    const before = new Map(state.data);
    await expect(contracts.emr.CreateRecord(as(B, doctor1), JSON.stringify(recordInput()))).rejects.toThrow(/^INVALID_ARGUMENT\[patientPseudonym\]: is the patient's own pseudonym, and the consortium files records unlinked/);
    expect(state.data).toEqual(before);
    await contracts.emr.CreateRecord(as(B, doctor1), JSON.stringify(recordInput({ patientPseudonym: recordPseudonym(p1, linkKey(new Uint8Array(32), 0)) })));
    expect(JSON.parse(await contracts.emr.CreateRecord(as(A, doctor1), JSON.stringify(recordInput({ supersedes: record.recordId })))).version).toBe(2);
  });
});

describe('missingApprovals (the quorum rule), property-tested', () => {
  const orgs = ['O1', 'O2', 'O3', 'O4', 'O5', 'O6', 'O7'];
  const subset = fc.subarray(orgs);
  it('is satisfied exactly when a strict majority of the members and every joining org approved (every named org for the first settings)', () => {
    fc.assert(
      fc.property(subset, fc.subarray(orgs, { minLength: 1 }), subset, (members, proposed, approving) => {
        const current: ConsortiumSettings = members.length ? { ...NO_SETTINGS, version: 3, members } : NO_SETTINGS;
        const m = missingApprovals(current, { members: proposed, defaultCipherSuite: AES, categories: [], areas: [], areaDefaults: [] }, approving);
        const done = m.orgs.length === 0 && m.moreMembers === 0;
        const expected = members.length === 0
          ? proposed.every((o) => approving.includes(o))
          : 2 * members.filter((o) => approving.includes(o)).length > members.length && proposed.filter((o) => !members.includes(o)).every((o) => approving.includes(o));
        expect(done).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
