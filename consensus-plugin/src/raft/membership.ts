import type { NodeId } from '../core/types';

/** A membership change travels as a client request with this operation, committed through the log. */
export const joinOperation = (node: NodeId): string => `join:${node}`;
export const leaveOperation = (node: NodeId): string => `leave:${node}`;

export interface MembershipChange {
  kind: 'join' | 'leave';
  node: NodeId;
}

/** The change an operation asks for, or undefined for an ordinary request. */
export function parseMembershipChange(operation: string): MembershipChange | undefined {
  const match = /^(join|leave):(\d+)$/.exec(operation);
  return match ? { kind: match[1] as MembershipChange['kind'], node: Number(match[2]) } : undefined;
}

/**
 * The voters of one configuration. `version` counts the changes committed since genesis
 * (version 0); every node reaches the same version at the same log position.
 */
export class Membership {
  readonly members: readonly NodeId[];
  private readonly set: ReadonlySet<NodeId>;

  constructor(readonly version: number, members: readonly NodeId[]) {
    this.members = [...new Set(members)].sort((a, b) => a - b);
    this.set = new Set(this.members);
  }

  has(node: NodeId): boolean {
    return this.set.has(node);
  }

  get size(): number {
    return this.members.length;
  }

  /** Votes or acknowledgements needed: a majority of the voters. */
  get majority(): number {
    return Math.floor(this.size / 2) + 1;
  }

  /** The next configuration, or this one when the change changes nothing (or would leave no voter). */
  apply(change: MembershipChange): Membership {
    if (change.kind === 'join' && !this.has(change.node)) return new Membership(this.version + 1, [...this.members, change.node]);
    if (change.kind === 'leave' && this.has(change.node) && this.size > 1) return new Membership(this.version + 1, this.members.filter((m) => m !== change.node));
    return this;
  }
}
