import { connectGateway, ConsentLedger, EmrIndex, type EmrConnection } from '../../client/src';
import { stateDir } from '../../network/src/paths';

/** Opens gateway connections as wallet identities of the live network; closes them all at once. */
export class Connections {
  private readonly open: EmrConnection[] = [];

  as(org: string, user: string, timeouts?: Parameters<typeof connectGateway>[0]['timeouts']): EmrIndex {
    const connection = connectGateway({ org, user, profile: stateDir, ...(timeouts ? { timeouts } : {}) });
    this.open.push(connection);
    return new EmrIndex(connection.contract);
  }

  consents(org: string, user: string): ConsentLedger {
    return new ConsentLedger(this.connection(org, user).contract);
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
