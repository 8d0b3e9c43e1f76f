/**
 * What travels between the SDK and the services: each route of a key centre and of a proxy,
 * with its request body and its answer. The services implement these tables (`Served`) and
 * the SDK calls them (`ServiceClient`), so both ends are checked against the same types.
 */
import type { ApprovalRequirement, Purpose, RecordLink } from '@emr/protocol';
import type { SealedReply } from './signed-requests';

/** A route: its JSON body (`undefined` for a GET), its answer, and whether the answer is sealed to the requester. */
export interface Route<Body, Answer, Sealed extends boolean = false> {
  body: Body;
  answer: Answer;
  sealed: Sealed;
}

/** A DKG share dealt to one centre: s and b of the Pedersen VSS, hex. */
export interface DkgShare {
  s: string;
  b: string;
}

/** One centre's partial key of an identity: its DKG index and the G2 point, base64url. */
export interface PartialKeyAnswer {
  index: number;
  key: string;
}

export interface KeyCentreRoutes {
  'GET /v1/health': Route<undefined, { index: number; ready: boolean }>;
  /** The calling centre's private DKG share: key centres only, signed, sealed (the public phases go through the chain). */
  'GET /v1/dkg/share': Route<undefined, DkgShare, true>;
  /** A partial key of an identity the (signed) caller may hold, sealed. */
  'POST /v1/keys': Route<{ identity: string }, PartialKeyAnswer, true>;
  /** A patient of this centre's org: his key for blinding categories (docs/privacy.md), sealed. */
  'POST /v1/blinding-key': Route<Record<string, never>, { patientPseudonym: string; key: string }, true>;
  /** Staff of a member org: department paths blinded for a patient of this centre's org, with their labels sealed for him (blinding.ts), sealed; each request is logged. */
  'POST /v1/blind': Route<{ patientPseudonym: string; categories: string[] }, { blinded: string[]; labels: string[] }, true>;
  /** A patient of this centre's org: what its approval policies require of a consent on his category, blinded; attested on chain when it has policies. */
  'POST /v1/attest-reach': Route<{ category: string }, { category: string; requiredApprovals: ApprovalRequirement[]; attestationTxId: string | null }>;
  /** Staff of a member org: the next record pseudonym of a patient of this centre's org, to file an unlinked record under (linking.ts). */
  'POST /v1/record-pseudonym': Route<{ patientPseudonym: string }, { recordPseudonym: string }>;
  /** A requester the chain would allow (under a consent, through a grant, or by area for the patient named): an unlinked record's link, sealed. */
  'POST /v1/link': Route<{ recordId: string; purpose: Purpose } & ({ consentId: string } | { grantId: string } | { emergencyId: string } | { patientPseudonym: string }), RecordLink, true>;
}

/** A re-encryption fragment as a proxy serves it (and keeps it, to serve the same again). */
export interface ServedFragment {
  entryId: string;
  grantId: string;
  recordId: string;
  proxy: { mspId: string; enrollmentId: string };
  /** base64url: the capsule it was made from, the fragment, and the proxy's signature over both. */
  capsule: string;
  fragment: string;
  signature: string;
}

export interface ProxyRoutes {
  'GET /v1/health': Route<undefined, { proxy: string; shares: number }>;
  /** The grant's delegator (signed) delivers this proxy's sealed share; answers its index. */
  'POST /v1/shares': Route<{ grantId: string; share: string }, { index: number }>;
  /** A fragment for an access entry the chain granted, made from its capsule (base64url). */
  'POST /v1/fragments': Route<{ entryId: string; grantId: string; capsule: string }, ServedFragment>;
}

/** What a service's handler for the route returns: the answer, or it sealed. */
export type Served<R> = R extends Route<unknown, infer A, infer S> ? (S extends true ? { sealed: SealedReply } : A) : never;

/** Per route, whether its answer is sealed: complete and correct by type, for the caller at run time. */
export type SealedFlags<Routes> = { [K in keyof Routes]: Routes[K] extends Route<unknown, unknown, infer S> ? S : never };

export const KEY_CENTRE_SEALED: SealedFlags<KeyCentreRoutes> = {
  'GET /v1/health': false,
  'GET /v1/dkg/share': true,
  'POST /v1/keys': true,
  'POST /v1/blinding-key': true,
  'POST /v1/blind': true,
  'POST /v1/attest-reach': false,
  'POST /v1/record-pseudonym': false,
  'POST /v1/link': true,
};

export const PROXY_SEALED: SealedFlags<ProxyRoutes> = { 'GET /v1/health': false, 'POST /v1/shares': false, 'POST /v1/fragments': false };
