/**
 * Collecting a grant's fragments: every proxy is asked at once; each answer is checked
 * against the grant's commitments (its index, its proof); t good ones are combined. A
 * fragment that fails is reported on chain with the proxy's own signature (it costs the
 * proxy reputation) and does not stop the read while t others are good.
 */
import { combineFragments, decodeFragment, fromBase64url, verifyFragment, type Capsule, type Fragment, type GrantPublic } from '@emr/crypto';
import { encodeParty, type Party } from '@emr/protocol';
import type { SignedFragment } from '../fabric/proxy-registry';
import type { ServedFragment } from '../wire/routes';
import { ServiceError } from '../wire/errors';
import { InsufficientFragmentsError } from './errors';

export interface FragmentSources {
  /** Asks one proxy for its fragment. */
  ask: (proxy: Party) => Promise<ServedFragment>;
  /** Called with each signed fragment that fails verification. */
  report: (signed: SignedFragment) => void;
  timings?: { proxies?: number; crypto?: number };
}


/** The capsule one hop further: Lagrange combination of t verified fragments of `grant`. */
export async function collectFragments(capsule: Capsule, grant: GrantPublic, proxies: Party[], sources: FragmentSources): Promise<Capsule> {
  const failures: { proxy: string; reason: string }[] = [];
  const t0 = performance.now();
  const answers = await Promise.all(
    proxies.map((proxy) =>
      sources.ask(proxy).catch((err: unknown) => {
        failures.push({ proxy: encodeParty(proxy), reason: err instanceof ServiceError ? `${err.code}: ${err.message}` : (err as Error).message });
        return undefined;
      }),
    ),
  );
  const t1 = performance.now();
  const good: Fragment[] = [];
  for (const [i, served] of answers.entries()) {
    if (!served) continue;
    let fragment: Fragment | undefined;
    try {
      fragment = decodeFragment(fromBase64url(served.fragment, 'fragment'));
    } catch {
      fragment = undefined;
    }
    if (fragment && fragment.index === BigInt(i + 1) && verifyFragment(capsule, grant, fragment)) {
      good.push(fragment);
      continue;
    }
    failures.push({ proxy: encodeParty(proxies[i]!), reason: 'its fragment fails verification against the grant (reported on chain)' });
    sources.report({ grantId: grant.grantId, proxy: served.proxy, capsule: fromBase64url(served.capsule, 'capsule'), fragment: fromBase64url(served.fragment, 'fragment'), signature: served.signature });
  }
  if (good.length < grant.threshold) throw new InsufficientFragmentsError(grant.grantId, grant.threshold, failures);
  const next = combineFragments(capsule, grant, good.slice(0, grant.threshold)).capsule;
  if (sources.timings) {
    sources.timings.proxies = (sources.timings.proxies ?? 0) + (t1 - t0);
    sources.timings.crypto = (sources.timings.crypto ?? 0) + (performance.now() - t1);
  }
  return next;
}
