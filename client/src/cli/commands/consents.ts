/** `emr consents`: a patient's consents with their state, uses left and grants. */
import type { Command } from 'commander';
import { encodeParty, registrationActive, type Consent, type Registration } from '@emr/protocol';
import { allPages } from '../../fabric/contract-client';
import { granteeText, scopeText } from '../format';
import { parsePseudonym } from '../options';
import type { Sessions } from '../session';

/**
 * What a consent allows now: `revoked` and `pending` from its status; an active one is
 * `not-yet-valid` before its window, `expired` after it (the window is [validFrom, validUntil)),
 * `exhausted` when every access is used, else `active` (the chaincode's order of checks).
 */
export type ConsentState = 'active' | 'pending' | 'revoked' | 'not-yet-valid' | 'expired' | 'exhausted';

export function consentState(c: Consent, now: Date): ConsentState {
  if (c.status === 'revoked') return 'revoked';
  if (c.status === 'pending') return 'pending';
  const t = now.getTime();
  if (t < Date.parse(c.validFrom)) return 'not-yet-valid';
  if (t >= Date.parse(c.validUntil)) return 'expired';
  if (c.accessCount >= c.maxAccesses) return 'exhausted';
  return 'active';
}

/** A grant as `emr consents` lists it: the public registration's summary and whether it is usable now. */
export interface ListedGrant {
  grantId: string;
  hop: number;
  parentGrantId: string | null;
  delegator: string;
  delegatee: string;
  type: string;
  threshold: number;
  proxies: string[];
  expiresAt: string;
  createdAt: string;
  active: boolean;
}

/** A consent as `emr consents` lists it; to the patient himself, a blinded category by its name. */
export type ListedConsent = Consent & { state: ConsentState; usesLeft: number; grants: ListedGrant[]; clearCategory?: string };

export function listedConsent(c: Consent, grants: Registration[], now: Date, clear: ReadonlyMap<string, string> = new Map()): ListedConsent {
  const name = c.scope.category === undefined ? undefined : clear.get(c.scope.category);
  return {
    ...c,
    ...(name !== undefined ? { clearCategory: name } : {}),
    state: consentState(c, now),
    usesLeft: Math.max(0, c.maxAccesses - c.accessCount),
    grants: grants
      .map((g) => ({
        grantId: g.grantId,
        hop: g.hop,
        parentGrantId: g.parentGrantId,
        delegator: encodeParty(g.delegator),
        delegatee: encodeParty(g.delegatee),
        type: g.type,
        threshold: g.threshold,
        proxies: g.proxies.map(encodeParty),
        expiresAt: g.expiresAt,
        createdAt: g.createdAt,
        active: registrationActive(g, c, now),
      }))
      .sort((a, b) => a.hop - b.hop || a.createdAt.localeCompare(b.createdAt)),
  };
}

/** One consent of `emr consents`: a block of aligned lines, its grants one per line at the end. */
export function consentBlock(c: ListedConsent): string {
  const state =
    c.state === 'pending'
      ? `pending (needs approval by ${c.requiredApprovals.map((r) => `${r.count} ${r.role}`).join(', ')}; ${c.approvals.length} given)`
      : c.state === 'revoked'
        ? `revoked at ${c.revokedAt}`
        : c.state === c.status
          ? c.state
          : `${c.state} (status ${c.status})`;
  const grantLines = c.grants.map(
    (g) => `${g.grantId}  hop ${g.hop}${g.parentGrantId ? ` under ${g.parentGrantId}` : ''}  to ${g.delegatee}  ${g.type}  ${g.active ? 'active' : 'inactive'}  expires ${g.expiresAt}`,
  );
  const rows: [string, string | number][] = [
    ['consent', c.consentId],
    ['state', state],
    ['uses left', `${c.usesLeft} of ${c.maxAccesses}`],
    ['grantee', granteeText(c.grantee)],
    ['purpose', c.purpose],
    ['scope', scopeText(c.scope, c.clearCategory)],
    ['valid', `${c.validFrom} to ${c.validUntil}`],
    ['hop limit', c.hopLimit],
    ['grants', grantLines[0] ?? 'none'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`), ...grantLines.slice(1).map((l) => `${' '.repeat(width)}  ${l}`)].join('\n');
}

export function addConsents(program: Command, session: Sessions): void {
  program
    .command('consents')
    .description("a patient's consents with their state, uses left and grants: the patient or an admin of his home hospital")
    .requiredOption('--patient <pseudonym>', "the patient's pseudonym (64 hex characters)")
    .addHelpText(
      'after',
      [
        '',
        'state: active, pending (approvals needed), revoked, not-yet-valid, expired or exhausted (no uses left), as of now.',
        'Each grant: id, hop (and parent grant), delegatee, record type, active (usable now) or inactive, expiry.',
        '--json: the consents as an array, each with state, usesLeft, clearCategory (to the patient, for a blinded category) and grants [{grantId, hop, parentGrantId, delegator, delegatee, type, threshold, proxies, expiresAt, createdAt, active}].',
      ].join('\n'),
    )
    .action(async (o: { patient: string }) => {
      const s = session();
      const p = parsePseudonym(o.patient);
      const listed = await s.connect(async (c) => {
        const consents = await allPages((page) => c.consents.listConsents(p, page), (page) => page.consents);
        const now = new Date();
        const clear = await c.clearCategories(p, consents.flatMap((x) => x.scope.category ?? []));
        return Promise.all(consents.map(async (consent) => listedConsent(consent, await c.consents.allGrants(consent.consentId), now, clear)));
      });
      listed.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      s.emit(listed, () => listed.map(consentBlock).join('\n\n'));
      if (listed.length === 0) s.note('emr: the patient has granted no consents');
    });
}
