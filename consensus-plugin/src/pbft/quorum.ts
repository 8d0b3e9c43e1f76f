/**
 * Group sizes. f = ⌊(m − 1)/3⌋ and a quorum of ⌈(m + f + 1)/2⌉, which is 2f + 1 when
 * m = 3f + 1. For other sizes 2f + 1 is not enough: two quorums of 3 among 5 members share
 * one member, who may be the Byzantine one; ⌈(m + f + 1)/2⌉ makes any two quorums share
 * f + 1 members, so at least one honest, and needs no more than the m − f live members.
 */

/** How many Byzantine members a group of `members` tolerates. */
export const maxFaulty = (members: number): number => Math.floor((members - 1) / 3);

/** How many distinct members' matching votes decide, prepare or make a checkpoint stable. */
export const quorumSize = (members: number): number => Math.ceil((members + maxFaulty(members) + 1) / 2);
