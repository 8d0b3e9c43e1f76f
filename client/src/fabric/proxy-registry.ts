/** Typed access to the proxy registry: registration, stake, election, fault reports, re-encryption log. */
import { createHash } from 'node:crypto';
import { toBase64url } from '@emr/crypto';
import { encodeParty, fragmentSigningPayload, sm2KeyPayload, type LogEntry, type Party, type Proxy, type SignatureScheme } from '@emr/protocol';
import { ContractClient } from './contract-client';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A fragment as a proxy hands it out: the bytes and the proxy's signature binding them to the capsule. */
export interface SignedFragment {
  grantId: string;
  proxy: Party;
  capsule: Uint8Array;
  fragment: Uint8Array;
  signature: string;
}

export class ProxyRegistry extends ContractClient {
  /** The caller, a proxy identity of a member org, registers itself at `endpoint`. */
  register(endpoint: string): Promise<Proxy> {
    return this.submit('proxy:RegisterProxy', endpoint);
  }

  /**
   * The registered proxy adds its SM2 key (derived from its enrollment key), proving it holds
   * it, unless the chain has it already; it signs fragments of SM-suite records with it.
   */
  async registerSm2Key(): Promise<Proxy> {
    if (!this.connection.sm2PublicKey) throw new Error('this connection has no SM2 key');
    const me = { mspId: this.connection.mspId, enrollmentId: this.connection.enrollmentId };
    const publicKey = this.connection.sm2PublicKey();
    const registered = await this.read(me);
    if (registered.sm2PublicKey === publicKey) return registered;
    return this.submit('proxy:RegisterSm2Key', { publicKey, proof: this.connection.sign(sm2KeyPayload(encodeParty(me), publicKey), 'sm2-sm3') });
  }

  /** A member org's admin sets the org's stake on a proxy (0 withdraws). */
  voteStake(proxy: Party, amount: number): Promise<{ proxy: Proxy; voterTotal: number }> {
    return this.submit('proxy:VoteStake', proxy.mspId, proxy.enrollmentId, amount);
  }

  read(proxy: Party): Promise<Proxy> {
    return this.evaluate('proxy:ReadProxy', proxy.mspId, proxy.enrollmentId);
  }

  list(): Promise<Proxy[]> {
    return this.evaluate('proxy:ListProxies');
  }

  /** The n proxies a new grant gets, in share order; RegisterGrant checks the same draw. */
  async elect(grantId: string, consentId: string, n: number): Promise<Party[]> {
    return (await this.evaluate('proxy:ElectProxies', grantId, consentId, n)).proxies;
  }

  /** A proxy signs the fragment it made from a capsule, so a bad one is provable on chain: ECDSA, or SM2 for a record of the SM suite. */
  signFragment(grantId: string, capsule: Uint8Array, fragment: Uint8Array, scheme: SignatureScheme = 'ecdsa-p256-sha256'): SignedFragment {
    const signature = this.connection.sign(fragmentSigningPayload({ grantId, capsuleSha256: sha256(capsule), fragmentSha256: sha256(fragment) }), scheme);
    return { grantId, proxy: { mspId: this.connection.mspId, enrollmentId: this.connection.enrollmentId }, capsule, fragment, signature };
  }

  /** Reports a signed fragment that fails its proof; the proxy loses reputation (and may be suspended). */
  reportBadFragment(f: SignedFragment): Promise<{ proxy: Proxy; fault: string }> {
    const report = { grantId: f.grantId, proxy: f.proxy, capsule: toBase64url(f.capsule), fragment: toBase64url(f.fragment), signature: f.signature };
    return this.submit('proxy:ReportBadFragment', report);
  }

  /** As logReEncryption, without waiting for the commit (`committed` settles then). */
  logReEncryptionAsync(entryId: string, grantId: string): Promise<{ result: LogEntry; committed: Promise<void> }> {
    return this.submitAsync('proxy:LogReEncryption', entryId, grantId);
  }

  /**
   * The proxy logs the re-encryption it made for an allowed access entry under an active grant.
   * Once per (entry, grant) for each proxy: a repeat returns the first entry, so a retry is always safe.
   */
  logReEncryption(entryId: string, grantId: string): Promise<LogEntry> {
    return this.submit('proxy:LogReEncryption', entryId, grantId);
  }
}
