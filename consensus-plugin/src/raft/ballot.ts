import type { NodeId } from '../core/types';
import type { Membership } from './membership';

/** The answers to one round of pre-votes or votes, the candidate's own grant included. */
export class Ballot {
  private readonly answered = new Set<NodeId>();
  private grants = 1;

  /** A round for `term`, started by `self`. */
  constructor(readonly term: number, self: NodeId) {
    this.answered.add(self);
  }

  /** Counts a voter's first answer; false for a repeated one. */
  record(voter: NodeId, granted: boolean): boolean {
    if (this.answered.has(voter)) return false;
    this.answered.add(voter);
    if (granted) this.grants++;
    return true;
  }

  won(membership: Membership): boolean {
    return this.grants >= membership.majority;
  }

  /** Too many refusals for the remaining voters to make a majority. */
  lost(membership: Membership): boolean {
    return this.answered.size - this.grants > membership.size - membership.majority;
  }
}
