import { MAX_PAGE_SIZE, blindCategory, sealCategoryLabel, type Caller } from '@emr/protocol';
import { parsePageSize, parseRecordInput, RecordStore } from '../../../chaincode/src/records';
import { pseudonym, recordInput } from '../../support/fixtures';
import { MemoryState } from '../../support/memory-state';
import { rejection } from '../../support/rejection';

const doctorA: Caller = { mspId: 'HospitalAMSP', enrollmentId: 'doctor1', role: 'doctor' };
const doctorB: Caller = { mspId: 'HospitalBMSP', enrollmentId: 'doctor1', role: 'doctor' };
const tx = (n: number) => ({ txId: `tx${n}`, timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, n)) });

describe('parseRecordInput', () => {
  it('accepts a valid record and keeps only known fields', () => {
    const input = recordInput();
    expect(parseRecordInput(JSON.stringify(input))).toEqual(input);
  });

  it.each([
    ['recordId', '', 'recordId'],
    ['recordId', '../etc', 'recordId'],
    ['patientPseudonym', 'Alice Smith', 'patientPseudonym'],
    ['patientPseudonym', 'A'.repeat(64), 'patientPseudonym'],
    ['category', 'Cardiology', 'category'],
    ['category', 'cardiology//ecg', 'category'],
    ['type', 'public', 'type'],
    ['cid', 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', 'cid'],
    ['ciphertextSha256', 'xyz', 'ciphertextSha256'],
    ['size', -1, 'size'],
    ['size', 1.5, 'size'],
    ['size', '10', 'size'],
    ['cipherSuite', 'AES GCM', 'cipherSuite'],
    ['cipherSuite', 'aes-256-gcm', 'cipherSuite'], // well-formed, but no suite a reader has
    ['encapsulatedKey', 'not+base64url=', 'encapsulatedKey'],
    ['supersedes', 42, 'supersedes'],
  ])('rejects %s = %j with an error naming the field', (field, value, named) => {
    const err = rejection(() => parseRecordInput(JSON.stringify({ ...recordInput(), [field]: value })));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.field).toBe(named);
    expect(err.message).toMatch(new RegExp(`^INVALID_ARGUMENT\\[${named}\\]: `));
  });

  it('keeps a sealed category label only next to a blinded category, naming the field otherwise', () => {
    const key = new Uint8Array(32).fill(7);
    const blinded = recordInput({ category: blindCategory(key, 'psychiatry/inpatient') });
    const categoryLabel = sealCategoryLabel(key, 'psychiatry/inpatient');
    expect(parseRecordInput(JSON.stringify({ ...blinded, categoryLabel })).categoryLabel).toBe(categoryLabel);
    const clear = rejection(() => parseRecordInput(JSON.stringify({ ...recordInput(), categoryLabel })));
    expect(clear.message).toBe('INVALID_ARGUMENT[categoryLabel]: goes only with a blinded category (the category is in the clear)');
    for (const bad of ['psychiatry', 'x'.repeat(733), 42, 'not base64url!'.repeat(4)]) {
      expect(rejection(() => parseRecordInput(JSON.stringify({ ...blinded, categoryLabel: bad }))).field).toBe('categoryLabel');
    }
  });

  it('names a missing field', () => {
    const { cid: _omitted, ...rest } = recordInput();
    const err = rejection(() => parseRecordInput(JSON.stringify(rest)));
    expect([err.field, err.detail]).toEqual(['cid', 'is required']);
  });

  it('names an unknown field (e.g. an attempt to put a name on chain)', () => {
    const err = rejection(() => parseRecordInput(JSON.stringify({ ...recordInput(), patientName: 'Alice' })));
    expect(err.field).toBe('patientName');
  });

  it('rejects input that is not a JSON object', () => {
    for (const text of ['', 'nope', '[]', 'null', '42']) expect(rejection(() => parseRecordInput(text)).field).toBe('record');
  });

  it('bounds the page size', () => {
    expect(parsePageSize('1')).toBe(1);
    expect(parsePageSize(String(MAX_PAGE_SIZE))).toBe(MAX_PAGE_SIZE);
    // Out of range, not whole, or not in decimal digits (Number() reads ' 5', '0x10', '1e1' and '+5' as 5, 16, 10 and 5).
    for (const bad of ['0', String(MAX_PAGE_SIZE + 1), '2.5', 'NaN', '', '0x10', ' 5', '5 ', '1e1', '+5', '\uff15', 'Infinity']) expect([bad, rejection(() => parsePageSize(bad)).field]).toEqual([bad, 'pageSize']);
  });
});

describe('RecordStore', () => {
  let state: MemoryState;
  let store: RecordStore;
  beforeEach(() => {
    state = new MemoryState();
    store = new RecordStore(state);
  });

  it('stores the owner, creator and time from the transaction, not from the input', async () => {
    const input = recordInput();
    const record = await store.create(input, doctorA, tx(1));
    expect(record).toMatchObject({ ownerMsp: 'HospitalAMSP', createdBy: 'doctor1', createdAt: '2026-01-01T00:00:01.000Z', txId: 'tx1', version: 1, supersedes: null });
    expect(await store.get(input.recordId)).toEqual(record);
  });

  it('never overwrites a record', async () => {
    const input = recordInput();
    await store.create(input, doctorA, tx(1));
    await expect(store.create({ ...input, size: 1 }, doctorA, tx(2))).rejects.toMatchObject({ code: 'CONFLICT', field: 'recordId' });
    expect((await store.require(input.recordId)).size).toBe(input.size);
  });

  it('adds versions that supersede the previous one, once, by the owning hospital', async () => {
    const v1 = await store.create(recordInput(), doctorA, tx(1));
    const v2 = await store.create(recordInput({ supersedes: v1.recordId }), doctorA, tx(2));
    expect(v2).toMatchObject({ version: 2, supersedes: v1.recordId });
    expect(await store.require(v1.recordId)).toEqual(v1); // the old version stays
    await expect(store.create(recordInput({ supersedes: v1.recordId }), doctorA, tx(3))).rejects.toMatchObject({ code: 'CONFLICT', field: 'supersedes' });
    await expect(store.create(recordInput({ supersedes: v2.recordId }), doctorB, tx(4))).rejects.toMatchObject({ code: 'UNAUTHORIZED', field: 'supersedes' });
    await expect(store.create(recordInput({ supersedes: 'missing' }), doctorA, tx(5))).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'supersedes' });
    await expect(store.create(recordInput({ supersedes: v2.recordId, patientPseudonym: pseudonym('other') }), doctorA, tx(6))).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'supersedes',
    });
  });

  it('leaves no partial state when a create is rejected', async () => {
    const v1 = await store.create(recordInput(), doctorA, tx(1));
    const before = new Map(state.data);
    await expect(store.create(recordInput({ supersedes: v1.recordId }), doctorB, tx(2))).rejects.toThrow();
    expect(state.data).toEqual(before);
  });

  it('lists a patient\'s records page by page with a bookmark, and only that patient\'s', async () => {
    const mine = pseudonym('mine');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await store.create(recordInput({ patientPseudonym: mine }), doctorA, tx(i))).recordId);
    await store.create(recordInput({ patientPseudonym: pseudonym('someone else') }), doctorA, tx(9));
    const seen: string[] = [];
    let bookmark = '';
    let pages = 0;
    do {
      const page = await store.listByPatient(mine, 3, bookmark);
      expect(page.records.length).toBeLessThanOrEqual(3);
      seen.push(...page.records.map((r) => r.recordId));
      bookmark = page.bookmark;
      pages++;
    } while (bookmark);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].sort());
  });
});
