/** The human output shared by several commands: aligned tables and one-line summaries. */
import { encodeParty, type Consent, type Registration } from '@emr/protocol';
import type { Timings } from '../sharing/emr-client';

export const roundTimings = (t: Timings): Record<string, number> => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 10) / 10]));

export const formatTimings = (t: Timings): string =>
  Object.entries(t)
    .map(([k, v]) => `${k} ${Math.round(v)} ms`)
    .join(', ') || '-';

/** Aligned `key  value` lines; rows without a value are left out. */
export function table(rows: [string, string | number | null | undefined][]): string {
  const present = rows.filter((r): r is [string, string | number] => r[1] !== undefined && r[1] !== null && r[1] !== '');
  const width = Math.max(0, ...present.map(([k]) => k.length));
  return present.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** Rows under a header row, in aligned columns (the last column is not padded). */
export function columns(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

export const granteeText = (g: Consent['grantee']): string => (g.kind === 'identity' ? encodeParty(g) : g.kind === 'role' ? `role ${g.role} at ${g.mspId}` : g.kind === 'org' ? `org ${g.mspId}` : `area ${g.area}`);

/** A category as listed: by its clear name, marked, when the reader has it for a blinded one (the patient himself). */
export const categoryText = (category: string, clear?: string): string => (clear !== undefined ? `${clear} (blinded)` : category);

/** A consent's scope; `clearCategory` names a blinded category to the patient himself. */
export const scopeText = (s: Consent['scope'], clearCategory?: string): string =>
  [s.category && `category ${categoryText(s.category, clearCategory)}`, s.type && `type ${s.type}`, s.recordIds && `records ${s.recordIds.join(', ')}`].filter(Boolean).join('; ');

export function consentText(c: Consent): string {
  const scope = scopeText(c.scope);
  const grantee = granteeText(c.grantee);
  const pending = c.requiredApprovals.map((r) => `${r.count} ${r.role}`).join(', ');
  return table([
    ['consent', c.consentId],
    ['status', c.status === 'pending' ? `pending (needs approval by ${pending}; ${c.approvals.length} given)` : c.status],
    ['patient', c.patientPseudonym],
    ['grantee', grantee],
    ['purpose', c.purpose],
    ['scope', scope],
    ['valid', `${c.validFrom} to ${c.validUntil}`],
    ['accesses', `${c.accessCount} of ${c.maxAccesses}`],
    ['hop limit', c.hopLimit],
    ['revoked at', c.revokedAt],
  ]);
}

export function grantText(g: Registration): string {
  return `${g.grantId} (${g.type}, hop ${g.hop}${g.parentGrantId ? ` under ${g.parentGrantId}` : ''}, to ${encodeParty(g.delegatee)}, proxies ${g.proxies.map(encodeParty).join(' ')}, threshold ${g.threshold}, expires ${g.expiresAt})`;
}
