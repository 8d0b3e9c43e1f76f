/**
 * Patients' own area rules: for an area of the consortium, a patient may replace its default
 * rule with his own (other purposes, a narrower category) or withdraw it (no purposes). One
 * document per patient (at most one rule per area, at most MAX_AREAS areas), read whole when
 * a request by area is decided.
 */
import type { AreaPolicy } from '@emr/protocol';
import { encode, readJson, type StateStore, type TxContext } from './ledger';

const POLICIES = 'emr.area-policy';

export class AreaPolicyStore {
  constructor(private readonly state: StateStore) {}

  async list(patientPseudonym: string): Promise<AreaPolicy[]> {
    return (await readJson<AreaPolicy[]>(this.state, POLICIES, [patientPseudonym])) ?? [];
  }

  /** Sets the patient's rule for an area (replacing his earlier one). */
  async set(policy: Omit<AreaPolicy, 'setAt' | 'txId'>, tx: TxContext): Promise<AreaPolicy> {
    const stored: AreaPolicy = { ...policy, setAt: tx.timestamp.toISOString(), txId: tx.txId };
    const others = (await this.list(policy.patientPseudonym)).filter((p) => p.area !== policy.area);
    await this.put(policy.patientPseudonym, [...others, stored].sort((a, b) => a.area.localeCompare(b.area)));
    return stored;
  }

  /** Removes the patient's rule for an area: its default applies again. False when he had none. */
  async clear(patientPseudonym: string, area: string): Promise<boolean> {
    const all = await this.list(patientPseudonym);
    const kept = all.filter((p) => p.area !== area);
    if (kept.length === all.length) return false;
    await this.put(patientPseudonym, kept);
    return true;
  }

  private put = (patientPseudonym: string, policies: AreaPolicy[]) => this.state.putState(this.state.createCompositeKey(POLICIES, [patientPseudonym]), encode(policies));
}
