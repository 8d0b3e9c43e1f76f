/**
 * Connects to an org's Fabric Gateway peer as an enrolled identity from the wallet.
 * One gRPC channel per connection; every call has an explicit deadline.
 */
import { X509Certificate, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { deriveSm2Secret, sm2PublicKey, sm2Sign } from '@emr/crypto';
import type { SignatureScheme } from '@emr/protocol';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connect, hash, signers, type Contract, type Gateway, type Identity, type Signer } from '@hyperledger/fabric-gateway';
import { UnknownIdentityError } from './errors';
import { loadProfile, type ConnectionProfile, type OrgProfile } from './profile';
import { certificateAttributes } from './certificates';

export interface ConnectOptions {
  /** Org name from the topology, e.g. `HospitalA`. */
  org: string;
  /** Enrollment id of a wallet entry of that org, e.g. `doctor1`. */
  user: string;
  /** Profile object, or the directory holding network.json (default $EMR_NETWORK_DIR). */
  profile?: ConnectionProfile | string;
  /** Deadlines in milliseconds. */
  timeouts?: Partial<Timeouts>;
}

export interface Timeouts {
  evaluate: number;
  endorse: number;
  submit: number;
  commitStatus: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { evaluate: 5_000, endorse: 15_000, submit: 5_000, commitStatus: 60_000 };

/** An open gateway connection; close it when done. */
export interface EmrConnection {
  org: string;
  /** The wallet entry's name (what `--user` names). */
  user: string;
  /** The enrollment id in the certificate, as the chain reads it: the wallet name, except for a patient (an opaque id; docs/privacy.md). */
  enrollmentId: string;
  mspId: string;
  gateway: Gateway;
  /** The channel the contract is on. */
  channel: string;
  contract: Contract;
  /** The identity's enrollment certificate (PEM). */
  certificate: string;
  /**
   * Signs a payload, DER, base64url: by default with the enrollment key (ECDSA P-256,
   * SHA-256); with 'sm2-sm3', with the identity's SM2 key (sm2Key).
   */
  sign(payload: string, scheme?: SignatureScheme): string;
  /** The identity's SM2 public key (uncompressed, hex): derived from its enrollment key, so nothing more to keep. */
  sm2PublicKey(): string;
  /** How long a submission waits for its commit status in all. */
  commitStatusMs: number;
  close(): void;
}

function orgOf(profile: ConnectionProfile, org: string): OrgProfile {
  const found = profile.orgs[org];
  if (!found) throw new UnknownIdentityError(`unknown org '${org}': the network has ${Object.keys(profile.orgs).join(', ')}`);
  return found;
}

/** Reads a wallet entry (cert.pem + key.pem) as a gateway identity and signer. */
export function walletIdentity(orgProfile: OrgProfile, org: string, user: string): { identity: Identity; signer: Signer; privateKey: KeyObject } {
  const entry = orgProfile.users[user];
  if (!entry) throw new UnknownIdentityError(`unknown user '${user}' of ${org}: the wallet has ${Object.keys(orgProfile.users).join(', ')}`);
  const credentials = readFileSync(path.join(entry.dir, 'cert.pem'));
  const privateKey = createPrivateKey(readFileSync(path.join(entry.dir, 'key.pem')));
  return { identity: { mspId: orgProfile.mspId, credentials }, signer: signers.newPrivateKeySigner(privateKey), privateKey };
}

/**
 * The SM2 key of an identity, derived (lazily) from its enrollment key's private scalar under
 * a fixed label: the same wallet entry always gives the same SM2 key.
 */
function sm2KeyOf(privateKey: KeyObject): { secret(): bigint; publicKey(): string } {
  let secret: bigint | undefined;
  let publicKey: string | undefined;
  const d = () => (secret ??= deriveSm2Secret(Buffer.from(String(privateKey.export({ format: 'jwk' }).d), 'base64url'), 'emr-sm2-signing-key:v1'));
  return { secret: d, publicKey: () => (publicKey ??= Buffer.from(sm2PublicKey(d())).toString('hex')) };
}

export function connectGateway(options: ConnectOptions): EmrConnection {
  const profile = typeof options.profile === 'object' ? options.profile : loadProfile(options.profile);
  const orgProfile = orgOf(profile, options.org);
  const { identity, signer, privateKey } = walletIdentity(orgProfile, options.org, options.user);
  const client = new grpc.Client(orgProfile.peerEndpoint, grpc.credentials.createSsl(readFileSync(orgProfile.tlsRootCertPath)), {
    'grpc.ssl_target_name_override': orgProfile.peerHostAlias,
  });
  const t = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const deadline = (ms: number) => () => ({ deadline: Date.now() + ms });
  const gateway = connect({
    client,
    identity,
    signer,
    hash: hash.sha256,
    evaluateOptions: deadline(t.evaluate),
    endorseOptions: deadline(t.endorse),
    submitOptions: deadline(t.submit),
    commitStatusOptions: deadline(t.commitStatus),
  });
  const contract = gateway.getNetwork(profile.channel).getContract(profile.chaincode);
  const sm2 = sm2KeyOf(privateKey);
  const certificate = Buffer.from(identity.credentials).toString('utf8');
  return {
    org: options.org,
    user: options.user,
    enrollmentId: certificateAttributes(new X509Certificate(certificate))['hf.EnrollmentID'] ?? options.user,
    mspId: orgProfile.mspId,
    gateway,
    channel: profile.channel,
    contract,
    certificate,
    sign: (payload, scheme = 'ecdsa-p256-sha256') =>
      (scheme === 'sm2-sm3' ? Buffer.from(sm2Sign(Buffer.from(payload, 'utf8'), sm2.secret())) : sign('sha256', Buffer.from(payload, 'utf8'), privateKey)).toString('base64url'),
    sm2PublicKey: () => sm2.publicKey(),
    commitStatusMs: t.commitStatus,
    close() {
      gateway.close();
      client.close();
    },
  };
}
