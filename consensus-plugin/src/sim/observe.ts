import type { ConsensusNode, NodeId, Protocol, Ready } from '../core/types';

/** Which input produced a Ready: `step <from>`, `tick` or `submit`. */
export type Input = `step ${number}` | 'tick' | 'submit';

/** The protocol with every Ready its nodes return shown to `see` first (benchmarks and tests watch nodes this way). */
export function observed<M, S>(protocol: Protocol<M, S>, see: (id: NodeId, input: Input, ready: Ready<M, S>) => void): Protocol<M, S> {
  return {
    ...protocol,
    createNode(id, auth, persisted) {
      const node: ConsensusNode<M, S> = protocol.createNode(id, auth, persisted);
      const show = (input: Input, ready: Ready<M, S>): Ready<M, S> => {
        see(id, input, ready);
        return ready;
      };
      return {
        id: node.id,
        step: (from, message) => show(`step ${from}`, node.step(from, message)),
        tick: () => show('tick', node.tick()),
        submit: (request) => show('submit', node.submit(request)),
        leaderView: () => node.leaderView(),
      };
    },
  };
}
