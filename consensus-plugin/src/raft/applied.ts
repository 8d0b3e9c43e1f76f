import type { ClientRequest } from '../core/types';

/**
 * The requests a node has applied, for duplicate suppression at apply. Clients number
 * their requests 1, 2, 3, …, so per client a floor (every timestamp up to it applied) plus
 * the few applied above it keeps memory per client, not per request, on 1000 nodes. Other
 * timestamps (not positive integers) are kept one by one.
 */
export class AppliedRequests {
  private readonly byClient = new Map<string, { floor: number; above: Set<number> }>();

  has(request: ClientRequest): boolean {
    const applied = this.byClient.get(request.client);
    return applied !== undefined && (belowFloor(request.timestamp, applied.floor) || applied.above.has(request.timestamp));
  }

  add(request: ClientRequest): void {
    let applied = this.byClient.get(request.client);
    if (!applied) this.byClient.set(request.client, (applied = { floor: 0, above: new Set() }));
    if (belowFloor(request.timestamp, applied.floor)) return;
    if (request.timestamp !== applied.floor + 1) {
      applied.above.add(request.timestamp);
      return;
    }
    applied.floor++;
    while (applied.above.size > 0 && applied.above.delete(applied.floor + 1)) applied.floor++;
  }
}

const belowFloor = (timestamp: number, floor: number): boolean => Number.isInteger(timestamp) && timestamp >= 1 && timestamp <= floor;
