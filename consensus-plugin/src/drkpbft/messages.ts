/**
 * DRKPBFT's wire messages: the PBFT messages of its groups (regions and top layer, told
 * apart by their group name) and its own. Each own message names its sender inside the
 * signed payload; the payload is a short header with digests, so signing stays cheap.
 */
import { batchDigest } from '../core/digest';
import type { Authenticator, ClientRequest, NodeId } from '../core/types';
import type { DecidedEntry, PbftInstanceMessage, PrePrepareMessage, Unsigned } from '../pbft/messages';
import { regionDigest, type CertifiedBatch, type RegionBatch, type TopEntry, type TopEntryRef } from './batches';

/** What the global log holds at one position: a top entry, or with a single region a region batch. */
export type LogPayload = TopEntry | RegionBatch;

/** One position of the global log: the group that decided it and its self-verifying decision. */
export interface LogEntry {
  group: string;
  entry: DecidedEntry<LogPayload>;
}

/** Client requests on their way to their home region's primary; `announce`: sent to every voter of the home region, which waits on them. */
export interface ForwardMessage {
  type: 'forward';
  requests: ClientRequest[];
  announce: boolean;
  sender: NodeId;
  sig: string;
}

/** A region primary hands a certified region batch to the seat holders. */
export interface CertifiedMessage {
  type: 'certified';
  batch: CertifiedBatch;
  sender: NodeId;
  sig: string;
}

/** A seat holder tells its region what the global log holds at a position. */
export interface DecideMessage {
  type: 'decide';
  log: LogEntry;
  sender: NodeId;
  sig: string;
}

/** A lagging node asks for the global log from position `from` on. */
export interface LogFetchMessage {
  type: 'log-fetch';
  from: number;
  sender: NodeId;
  sig: string;
}

/** The answer to a log fetch: consecutive positions from `from`. */
export interface LogMessage {
  type: 'log';
  from: number;
  entries: LogEntry[];
  sender: NodeId;
  sig: string;
}

/** A top backup asks the top primary for a certified batch its pre-prepare named and the backup has not got. */
export interface BatchFetchMessage {
  type: 'batch-fetch';
  region: number;
  regionSeq: number;
  sender: NodeId;
  sig: string;
}

export type OwnMessage = ForwardMessage | CertifiedMessage | DecideMessage | LogFetchMessage | LogMessage | BatchFetchMessage;

export type DrkMessage = PbftInstanceMessage<RegionBatch> | PbftInstanceMessage<TopEntry> | PrePrepareMessage<TopEntryRef> | OwnMessage;

const DOMAIN = 'drkpbft/v1';

const logHeader = (l: LogEntry): [string, number, string] => [l.group, l.entry.seq, l.entry.digest];

/** The bytes an own message's signature covers. */
export function ownSigningPayload(m: Unsigned<OwnMessage>): string {
  switch (m.type) {
    case 'forward':
      return JSON.stringify([DOMAIN, m.type, m.sender, m.announce, batchDigest(m.requests)]);
    case 'certified': {
      const b = m.batch;
      return JSON.stringify([DOMAIN, m.type, m.sender, b.epoch, b.region, b.regionSeq, b.view, regionDigest(b.batch)]);
    }
    case 'decide':
      return JSON.stringify([DOMAIN, m.type, m.sender, logHeader(m.log)]);
    case 'log-fetch':
      return JSON.stringify([DOMAIN, m.type, m.sender, m.from]);
    case 'log':
      return JSON.stringify([DOMAIN, m.type, m.sender, m.from, m.entries.map(logHeader)]);
    case 'batch-fetch':
      return JSON.stringify([DOMAIN, m.type, m.sender, m.region, m.regionSeq]);
  }
}

/** Signs an own message as `auth.id`. */
export function signOwn<M extends OwnMessage>(m: Omit<M, 'sig' | 'sender'>, auth: Authenticator): M {
  const unsigned = { ...m, sender: auth.id } as unknown as Unsigned<OwnMessage>;
  return { ...unsigned, sig: auth.sign(ownSigningPayload(unsigned)) } as M;
}

const OWN_TYPES: ReadonlySet<string> = new Set(['forward', 'certified', 'decide', 'log-fetch', 'log', 'batch-fetch']);

export const isOwnMessage = (m: DrkMessage): m is OwnMessage => OWN_TYPES.has(m.type);

/** Whether an own message carries a valid signature of its claimed sender (false for one too malformed to read). */
export function ownSigned(m: OwnMessage, auth: Authenticator): boolean {
  try {
    return auth.verify(m.sender, ownSigningPayload(m), m.sig);
  } catch {
    return false;
  }
}
