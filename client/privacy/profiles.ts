/**
 * What a curious member org reconstructs from the channel's blocks (ledger-view.ts), per
 * patient pseudonym: the identity behind it, the home hospital, categories, hospitals,
 * requesters, purposes, consent grantees, a timeline and record sizes; which records it can
 * tie to one patient; and what sizes and timing add. Each fact is marked as one the auditor
 * is a party to (its own org created the record, asked, was granted, or is the patient's
 * home hospital) or not: only the latter is a leak. Pure: the blocks in, the report out.
 */
import { isBlindedCategory, isRecordPseudonym } from '@emr/protocol';
import type { SeenTx } from './ledger-view';

/** What the report counts per pseudonym. */
/** `identity`: a name the patient is enrolled under; an opaque enrollment id does not count (OPAQUE_ID). */
export const FIELDS = ['identity', 'home hospital', 'categories', 'hospitals', 'requesters', 'purposes', 'consent grantees', 'timeline', 'record sizes'] as const;
export type Field = (typeof FIELDS)[number];

interface Fact {
  field: Field;
  value: string;
  at: Date;
  /** The auditor's org is a party to it. */
  party: boolean;
}

export interface PatientProfile {
  pseudonym: string;
  /** Per field, the distinct values a non-party learns, and those it learns as a party. */
  nonParty: Partial<Record<Field, string[]>>;
  party: Partial<Record<Field, string[]>>;
  records: number;
  firstSeen: string;
  lastSeen: string;
  /** Bursts of records created by one hospital within an hour: visits. */
  visits: number;
}

export interface PrivacyReport {
  auditor: string;
  transactions: number;
  pseudonyms: number;
  /** Per field: how many pseudonyms a non-party learns it for. */
  fieldsRecovered: Record<Field, number>;
  /** Mean number of fields a non-party recovers per pseudonym (of FIELDS.length). */
  meanFieldsPerPseudonym: number;
  linkage: {
    records: number;
    /**
     * Pairs of records the auditor ties to one patient, though it is a party to at most one of
     * them: by the pseudonym they name, or through a transaction that touches both (the
     * patient's certificate, an access reading a record and a consent, a log entry).
     */
    linkablePairs: number;
    /** Of those, pairs created by two different hospitals. */
    crossHospitalPairs: number;
    /** Pseudonyms whose patient's enrollment id (a name) sits in the blocks, from his own transactions. */
    pseudonymsWithIdentity: number;
    /** Records filed unlinked (under a record pseudonym, docs/privacy.md), and how many of them the auditor ties to a patient. */
    unlinkedRecords: number;
    unlinkedTied: number;
    /**
     * What if each record named a per-hospital pseudonym instead of the patient's (docs/privacy.md,
     * "Linkability")? The pairs still tied: same patient at the same hospital, or through
     * transactions (the patient's own certificate, an access reading the record and a consent).
     */
    perHospitalPseudonyms: { linkablePairs: number; crossHospitalPairs: number };
    /** The same what-if with one pseudonym per record: tied through transactions only. */
    perRecordPseudonyms: { linkablePairs: number; crossHospitalPairs: number };
  };
  sizesAndTiming: {
    /** Record sizes the blocks give in the clear (the ciphertext's). */
    recordsWithSize: number;
    /** How many different sizes they show: padded records show a size class each. */
    distinctSizes: number;
    /** Records over 1 MiB: imaging rather than notes, whatever the category says. */
    largeRecords: number;
    /** Visits inferred from bursts of uploads. */
    visits: number;
  };
  profiles: PatientProfile[];
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const partyText = (p: unknown) => {
  const o = obj(p);
  return o ? `${String(o.enrollmentId)}@${String(o.mspId)}${o.role ? ` (${String(o.role)})` : ''}` : '?';
};
const granteeText = (g: Json): string =>
  g.kind === 'identity' ? `${String(g.enrollmentId)}@${String(g.mspId)}` : g.kind === 'role' ? `role ${String(g.role)} at ${String(g.mspId)}` : g.kind === 'org' ? `org ${String(g.mspId)}` : `area ${String(g.area)}`;

const HOUR = 3_600_000;
/**
 * A patient's opaque enrollment id (network ca.ts): random, one per enrollment, like the
 * pseudonym itself, so it names nobody and links nothing the pseudonym does not.
 */
const OPAQUE_ID = /^pt-[0-9a-f]{24}$/;
const identifying = (enrollmentId: string) => !OPAQUE_ID.test(enrollmentId);

export function buildReport(txs: SeenTx[], auditor: string): PrivacyReport {
  const homes = new Map<string, string>();
  const recordOwner = new Map<string, { pseudonym: string; owner: string }>();
  const facts = new Map<string, Fact[]>();
  const records = new Map<string, { pseudonym: string; owner: string; at: Date; size: number }>();
  const add = (pseudonym: string | undefined, field: Field, value: string, at: Date, party: boolean) => {
    // A blinded path names no department without the patient's key (docs/privacy.md); it shows only a depth.
    if (!pseudonym || (field === 'categories' && isBlindedCategory(value))) return;
    let list = facts.get(pseudonym);
    if (!list) facts.set(pseudonym, (list = []));
    list.push({ field, value, at, party });
  };

  // Homes first (the home hospital is a party to every fact of its patients), and whose each consent is.
  const consentPatient = new Map<string, string>();
  for (const tx of txs) {
    for (const w of tx.writes) {
      if (w.objectType === 'emr.patient') homes.set(w.attributes[0]!, str(obj(w.value)?.homeMsp) ?? '');
      const patient = str(obj(w.value)?.patientPseudonym);
      if (w.objectType === 'emr.consent' && patient) consentPatient.set(w.attributes[0]!, patient);
    }
  }
  const isHome = (pseudonym: string) => homes.get(pseudonym) === auditor;
  // An unlinked record's facts are nobody's until a transaction ties it to a patient; then they are his.
  const unlinkedFacts = new Map<string, Omit<Fact, 'party'>[]>();
  const tiedTo = new Map<string, string>();
  const tie = (recordId: string, p: string, party: boolean) => {
    if (tiedTo.has(recordId) || isRecordPseudonym(p)) return;
    tiedTo.set(recordId, p);
    for (const f of unlinkedFacts.get(recordId) ?? []) add(p, f.field, f.value, f.at, party);
  };

  for (const tx of txs) {
    const at = tx.timestamp;
    for (const w of tx.writes) {
      if (w.objectType === 'emr.area-policy' && Array.isArray(w.value)) {
        // A patient's own area rules: one value, every area's rule.
        const p = w.attributes[0]!;
        for (const rule of w.value) if (obj(rule)?.category) add(p, 'categories', String(obj(rule)!.category), at, isHome(p));
        continue;
      }
      const v = obj(w.value);
      if (!v) continue;
      switch (w.objectType) {
        case 'emr.patient': {
          const p = w.attributes[0]!;
          add(p, 'home hospital', String(v.homeMsp), at, isHome(p));
          // The patient registers himself: his certificate, with its enrollment id, is the creator.
          if (tx.creator.role === 'patient' && identifying(tx.creator.enrollmentId)) add(p, 'identity', `${tx.creator.enrollmentId}@${tx.creator.mspId}`, at, isHome(p));
          break;
        }
        case 'emr.record': {
          const p = str(v.patientPseudonym);
          if (!p) break;
          const owner = String(v.ownerMsp);
          const party = owner === auditor || isHome(p);
          recordOwner.set(String(v.recordId), { pseudonym: p, owner });
          if (!records.has(String(v.recordId))) records.set(String(v.recordId), { pseudonym: p, owner, at, size: Number(v.size) });
          const facts: Omit<Fact, 'party'>[] = [
            { field: 'categories', value: String(v.category), at },
            { field: 'hospitals', value: owner, at },
            { field: 'timeline', value: `${at.toISOString()} record at ${owner}`, at },
            ...(typeof v.size === 'number' ? [{ field: 'record sizes' as const, value: String(v.size), at }] : []),
          ];
          if (isRecordPseudonym(p)) unlinkedFacts.set(String(v.recordId), [...(unlinkedFacts.get(String(v.recordId)) ?? []), ...facts]);
          else for (const f of facts) add(p, f.field, f.value, f.at, party);
          break;
        }
        case 'emr.consent': {
          const p = str(v.patientPseudonym);
          if (!p || !obj(v.grantee)) break;
          const grantee = obj(v.grantee)!;
          const party = isHome(p) || grantee.mspId === auditor;
          add(p, 'consent grantees', granteeText(grantee), at, party);
          add(p, 'purposes', String(v.purpose), at, party);
          const scope = obj(v.scope);
          if (scope?.category) add(p, 'categories', String(scope.category), at, party);
          break;
        }
        case 'emr.log': {
          const p = str(v.patientPseudonym);
          const agent = obj(v.agent);
          if (!p || !agent) break;
          const record = str(v.recordId) ? recordOwner.get(String(v.recordId)) : undefined;
          if (isRecordPseudonym(p)) break; // an unlinked record's own entries (its filing) name nobody
          const party = isHome(p) || agent.mspId === auditor || record?.owner === auditor;
          if (record && isRecordPseudonym(record.pseudonym)) tie(String(v.recordId), p, party);
          if (v.action === 'access-request' || v.action === 'emergency-access') add(p, 'requesters', partyText(agent), at, party);
          if (v.purpose) add(p, 'purposes', String(v.purpose), at, party);
          add(p, 'timeline', `${at.toISOString()} ${String(v.action)} ${String(v.outcome)} by ${String(agent.mspId)}`, at, party);
          break;
        }
        case 'emr.registration': {
          // A hop-1 grant names its delegator: the patient himself, by enrollment id.
          const delegator = obj(v.delegator);
          if (v.hop === 1 && delegator && tx.creator.role === 'patient' && identifying(String(delegator.enrollmentId))) {
            const p = consentPatient.get(String(v.consentId));
            if (p) add(p, 'identity', `${String(delegator.enrollmentId)}@${String(delegator.mspId)}`, at, isHome(p));
          }
          break;
        }
        case 'emr.emergency': {
          const p = str(v.patientPseudonym);
          const requester = obj(v.requester);
          const party = !!p && (isHome(p) || requester?.mspId === auditor);
          if (requester) add(p, 'requesters', partyText(requester), at, party);
          if (v.category) add(p, 'categories', String(v.category), at, party);
          break;
        }
      }
    }
  }

  const profiles: PatientProfile[] = [];
  for (const [pseudonym, list] of facts) {
    const nonParty: PatientProfile['nonParty'] = {};
    const party: PatientProfile['party'] = {};
    for (const f of list) {
      const into = f.party ? party : nonParty;
      const values = (into[f.field] ??= []);
      if (!values.includes(f.value)) values.push(f.value);
    }
    const mine = [...records.values()].filter((r) => r.pseudonym === pseudonym).sort((a, b) => a.at.getTime() - b.at.getTime());
    let visits = 0;
    const lastAt = new Map<string, number>();
    for (const r of mine) {
      const last = lastAt.get(r.owner);
      if (last === undefined || r.at.getTime() - last > HOUR) visits++;
      lastAt.set(r.owner, r.at.getTime());
    }
    const times = list.map((f) => f.at.getTime());
    profiles.push({ pseudonym, nonParty, party, records: mine.length, firstSeen: new Date(Math.min(...times)).toISOString(), lastSeen: new Date(Math.max(...times)).toISOString(), visits });
  }

  const fieldsRecovered = Object.fromEntries(FIELDS.map((f) => [f, profiles.filter((p) => p.nonParty[f]?.length).length])) as Record<Field, number>;
  // An unlinked record tied to a patient is his: his home hospital is a party to it.
  const isParty = (id: string, r: IndexedRecord) => r.owner === auditor || isHome(tiedTo.get(id) ?? r.pseudonym);
  const { linkablePairs, crossHospitalPairs, unlinkedTied } = linkedThroughTransactions(txs, records, consentPatient, isParty, 'as-filed');
  const perHospitalPseudonyms = linkedThroughTransactions(txs, records, consentPatient, isParty, 'per-hospital');
  const perRecordPseudonyms = linkedThroughTransactions(txs, records, consentPatient, isParty, 'per-record');
  return {
    auditor,
    transactions: txs.length,
    pseudonyms: profiles.length,
    fieldsRecovered,
    meanFieldsPerPseudonym: profiles.length ? profiles.reduce((n, p) => n + FIELDS.filter((f) => p.nonParty[f]?.length).length, 0) / profiles.length : 0,
    linkage: {
      records: records.size,
      linkablePairs,
      crossHospitalPairs,
      pseudonymsWithIdentity: profiles.filter((p) => p.nonParty.identity?.length).length,
      unlinkedRecords: [...records.values()].filter((r) => isRecordPseudonym(r.pseudonym)).length,
      unlinkedTied,
      perHospitalPseudonyms: { linkablePairs: perHospitalPseudonyms.linkablePairs, crossHospitalPairs: perHospitalPseudonyms.crossHospitalPairs },
      perRecordPseudonyms: { linkablePairs: perRecordPseudonyms.linkablePairs, crossHospitalPairs: perRecordPseudonyms.crossHospitalPairs },
    },
    sizesAndTiming: {
      recordsWithSize: [...records.values()].filter((r) => Number.isFinite(r.size)).length,
      distinctSizes: new Set([...records.values()].map((r) => r.size).filter(Number.isFinite)).size,
      largeRecords: [...records.values()].filter((r) => r.size > 1024 * 1024).length,
      visits: profiles.reduce((n, p) => n + p.visits, 0),
    },
    profiles,
  };
}

type IndexedRecord = { pseudonym: string; owner: string };
/** Keys whose first attribute is a patient's pseudonym, or an id the patient's writes name. */
const PATIENT_KEYS = new Set(['emr.patient', 'emr.area-policy', 'emr.consent~patient', 'emr.log~patient', 'emr.log~patient-override']);
/** Transactions that file a record: under the what-if they carry its per-hospital pseudonym, and the link only as transient data. */
const FILING = new Set(['emr:CreateRecord']);

/**
 * The pairs of records tied to one patient. Every transaction ties together the records,
 * consents, registrations and patient certificate it touches. `as-filed`: records are also
 * tied by the pseudonym they name (a record pseudonym names one record and its versions).
 * The what-ifs, for records filed under the patient's pseudonym: had they named a pseudonym
 * per (patient, hospital) or per record instead. A filing transaction's own keys (the record's
 * index, its upload entry, the registration it checks) would then name that pseudonym, so they
 * tie nothing more.
 */
function linkedThroughTransactions(
  txs: SeenTx[],
  records: Map<string, IndexedRecord>,
  consentPatient: Map<string, string>,
  isParty: (id: string, r: IndexedRecord) => boolean,
  mode: 'as-filed' | 'per-hospital' | 'per-record',
): { linkablePairs: number; crossHospitalPairs: number; unlinkedTied: number } {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    const up = parent.get(x) ?? x;
    if (up === x) return x;
    const root = find(up);
    parent.set(x, root);
    return root;
  };
  const seen = new Set<string>();
  const union = (nodes: string[]) => {
    for (const n of nodes) seen.add(n);
    nodes.slice(1).forEach((n) => parent.set(find(n), find(nodes[0]!)));
  };
  const emergencyPatient = new Map<string, string>();
  for (const tx of txs) for (const w of tx.writes) if (w.objectType === 'emr.emergency') emergencyPatient.set(w.attributes[0]!, str(obj(w.value)?.patientPseudonym) ?? '');
  for (const [id, r] of records) {
    if (mode === 'as-filed') union([`record:${id}`, `patient:${r.pseudonym}`]);
    if (mode === 'per-hospital') union([`record:${id}`, `hospital-pseudonym:${r.pseudonym}/${r.owner}`]);
  }
  for (const tx of txs) {
    const nodes = new Set<string>();
    if (tx.creator.role === 'patient') nodes.add(`cert:${tx.creator.mspId}/${tx.creator.enrollmentId}`);
    const filing = mode !== 'as-filed' && FILING.has(tx.fn);
    for (const k of [...tx.reads, ...tx.writes]) {
      const first = k.attributes[0];
      if (first === undefined) continue;
      if (k.objectType === 'emr.record' && records.has(first)) nodes.add(`record:${first}`);
      if (filing) continue;
      if (PATIENT_KEYS.has(k.objectType)) nodes.add(`patient:${first}`);
      if (k.objectType === 'emr.consent' && consentPatient.has(first)) nodes.add(`patient:${consentPatient.get(first)}`);
      if (k.objectType === 'emr.emergency' && emergencyPatient.get(first)) nodes.add(`patient:${emergencyPatient.get(first)}`);
    }
    // A log entry names the patient and the record it is about.
    for (const w of filing ? [] : tx.writes) {
      const entry = w.objectType === 'emr.log' ? obj(w.value) : undefined;
      if (str(entry?.patientPseudonym)) nodes.add(`patient:${str(entry!.patientPseudonym)}`);
      if (str(entry?.recordId) && records.has(str(entry!.recordId)!)) nodes.add(`record:${str(entry!.recordId)}`);
    }
    union([...nodes]);
  }
  const list = [...records.entries()];
  let linkablePairs = 0;
  let crossHospitalPairs = 0;
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      const [a, b] = [list[i]![1], list[j]![1]];
      // As filed, a tie is all the auditor has (an unlinked record names no patient); a what-if knows whose each record is.
      if ((mode !== 'as-filed' && a.pseudonym !== b.pseudonym) || (isParty(list[i]![0], a) && isParty(list[j]![0], b))) continue;
      if (find(`record:${list[i]![0]}`) !== find(`record:${list[j]![0]}`)) continue;
      linkablePairs++;
      if (a.owner !== b.owner) crossHospitalPairs++;
    }
  }
  // An unlinked record is tied when its group holds a patient's own pseudonym.
  const patientRoots = new Set([...seen].filter((n) => /^patient:[0-9a-f]{64}$/.test(n)).map(find));
  const unlinkedTied = [...records].filter(([id, r]) => isRecordPseudonym(r.pseudonym) && patientRoots.has(find(`record:${id}`))).length;
  return { linkablePairs, crossHospitalPairs, unlinkedTied };
}
