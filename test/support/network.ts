import { ConflictError, MvccConflictError, connectGateway, ConsentLedger, EmergencyAccess, EmrIndex, ProxyRegistry, type EmrConnection } from '../../client/src';
import { topology } from '../../network/src/topology';
import { stateDir } from '../../network/src/paths';

/** Opens gateway connections as wallet identities of the live network; closes them all at once. */
export class Connections {
  private readonly open: EmrConnection[] = [];

  as(org: string, user: string, timeouts?: Parameters<typeof connectGateway>[0]['timeouts']): EmrIndex {
    const connection = connectGateway({ org, user, profile: stateDir, ...(timeouts ? { timeouts } : {}) });
    this.open.push(connection);
    return new EmrIndex(connection);
  }

  consents(org: string, user: string): ConsentLedger {
    return new ConsentLedger(this.connection(org, user));
  }

  emergency(org: string, user: string): EmergencyAccess {
    return new EmergencyAccess(this.connection(org, user));
  }

  proxies(org: string, user: string): ProxyRegistry {
    return new ProxyRegistry(this.connection(org, user));
  }

  connection(org: string, user: string): EmrConnection {
    const connection = connectGateway({ org, user, profile: stateDir });
    this.open.push(connection);
    return connection;
  }

  closeAll(): void {
    for (const c of this.open.splice(0)) c.close();
  }
}

/**
 * Each member org's proxy identity registered, and each org's admin staking 30 on every
 * proxy (idempotent: a vote replaces the org's previous one). The proxy services of the
 * end-to-end issue will do this for themselves; until then the tests do.
 */
export async function ensureProxyRegistry(net: Connections): Promise<void> {
  const members = topology.members.map((m) => ({ org: m.name, mspId: m.mspId }));
  // Test files run in parallel and all write the registry: retry what a concurrent write invalidated.
  const retried = async (op: () => Promise<unknown>) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (e) {
        if (!(e instanceof MvccConflictError) || attempt === 5) throw e;
      }
    }
  };
  for (const [i, m] of members.entries()) {
    await retried(() =>
      net
        .proxies(m.org, 'proxy')
        .register(`https://127.0.0.1:${7350 + i}`)
        .catch((e: unknown) => {
          if (!(e instanceof ConflictError)) throw e; // registered by an earlier file or run
        }),
    );
  }
  for (const voter of members) for (const m of members) await retried(() => net.proxies(voter.org, 'admin').voteStake({ mspId: m.mspId, enrollmentId: 'proxy' }, 30));
}
