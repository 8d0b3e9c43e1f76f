/**
 * What the roles of one DRKPBFT node share: who it is, the cluster's context, its tick
 * clock and the outbox they all write to. Messages leave in the order the roles write them
 * (that order is behaviour: the simulator is seeded), and `DrkpbftNode` hands out what
 * accumulated as one `Ready` per input.
 */
import type { Authenticator, Commit, NodeId, Outbound, Ready } from '../core/types';
import type { DrkContext } from './context';
import type { DrkMessage } from './messages';

/** What a role may put out: messages, commits, and word that persisted state changed. */
export interface Outputs {
  send(to: NodeId, message: DrkMessage): void;
  /** A PBFT instance's messages, as it addressed them. */
  emit(messages: readonly Outbound<unknown>[]): void;
  commit(commit: Commit): void;
  /** Persisted state changed: the next `Ready` carries a snapshot. */
  changed(): void;
}

export class Outbox<S> implements Outputs {
  private messages: Outbound<DrkMessage>[] = [];
  private commits: Commit[] = [];
  private dirty = false;

  send(to: NodeId, message: DrkMessage): void {
    this.messages.push({ to, message });
  }

  emit(messages: readonly Outbound<unknown>[]): void {
    for (const m of messages) this.messages.push(m as Outbound<DrkMessage>);
  }

  commit(commit: Commit): void {
    this.commits.push(commit);
  }

  changed(): void {
    this.dirty = true;
  }

  /** Everything since the last call, with `snapshot()` if persisted state changed. */
  take(snapshot: () => S): Ready<DrkMessage, S> {
    const ready: Ready<DrkMessage, S> = { messages: this.messages, commits: this.commits };
    if (this.dirty) ready.state = snapshot();
    this.messages = [];
    this.commits = [];
    this.dirty = false;
    return ready;
  }
}

/** A node's identity, context, clock and outbox, as every role sees them. */
export interface NodeEnv {
  readonly id: NodeId;
  readonly auth: Authenticator;
  readonly ctx: DrkContext;
  readonly out: Outputs;
  /** Ticks since the node started. */
  now(): number;
}
