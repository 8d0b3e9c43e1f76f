import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { composeDocument, composeFile, IMAGES } from '../../../network/src/compose';
import { allPorts, hostnameOf, topology } from '../../../network/src/topology';

interface Service {
  image: string;
  ports?: string[];
  environment?: Record<string, string>;
}
const committed = YAML.parse(readFileSync(composeFile, 'utf8')) as { services: Record<string, Service> };

describe('docker-compose.yaml', () => {
  it('is what the generator makes from the topology (run `npm run compose` after changing it)', () => {
    expect(committed).toEqual(JSON.parse(JSON.stringify(composeDocument())));
  });

  it('has a service for every CA, orderer, peer and chaincode process of the topology', () => {
    const expected = [
      ...[topology.ordererOrg, ...topology.members].map((o) => `ca.${o.domain}`),
      ...topology.ordererOrg.orderers.map((o) => hostnameOf(o, topology.ordererOrg)),
      ...topology.members.flatMap((m) => [hostnameOf(m.peer, m), `chaincode.${m.domain}`]),
    ];
    expect(Object.keys(committed.services).sort()).toEqual(expected.sort());
  });

  it('uses the official Fabric 3.1 and Fabric CA 1.5 images', () => {
    expect(IMAGES.peer).toMatch(/^hyperledger\/fabric-peer:3\.1\.\d+$/);
    expect(IMAGES.orderer).toMatch(/^hyperledger\/fabric-orderer:3\.1\.\d+$/);
    expect(IMAGES.ca).toMatch(/^hyperledger\/fabric-ca:1\.5\.\d+$/);
    const images = new Set(Object.values(committed.services).map((s) => s.image));
    expect(images).toEqual(new Set(Object.values(IMAGES)));
  });

  it('publishes exactly the topology\'s host ports, on 127.0.0.1 only', () => {
    const published = Object.values(committed.services).flatMap((s) => s.ports ?? []);
    for (const p of published) expect(p).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    const hostPorts = published.map((p) => Number(p.split(':')[1]));
    // The compose file has the Fabric nodes; Kubo and the services run natively (operations.md).
    const expected = allPorts().filter((p) => !p.owner.endsWith('chaincode listener') && !/^(ipfs|proxy|kgc)-/.test(p.owner)).map((p) => p.port);
    expect(hostPorts.sort()).toEqual(expected.sort());
  });

  it('turns TLS on for every peer and orderer and leaves the peers without Docker', () => {
    for (const [name, s] of Object.entries(committed.services)) {
      if (s.image === IMAGES.peer) {
        expect([name, s.environment?.CORE_PEER_TLS_ENABLED, s.environment?.CORE_VM_ENDPOINT]).toEqual([name, 'true', '']);
      }
      if (s.image === IMAGES.orderer) expect([name, s.environment?.ORDERER_GENERAL_TLS_ENABLED]).toEqual([name, 'true']);
    }
  });
});
