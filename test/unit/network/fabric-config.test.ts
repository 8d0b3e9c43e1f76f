import { configtx, mergeConfig, toEnv } from '../../../network/src/fabric-config';
import { nativePlacement } from '../../../network/src/node-env';
import { allPorts, topology } from '../../../network/src/topology';

describe('mergeConfig', () => {
  it('overrides scalars and lists deep inside, keeps everything else', () => {
    const base = { peer: { id: 'x', tls: { enabled: false, cert: { file: 'a' } }, list: [1, 2] }, other: 1 };
    expect(mergeConfig(base, { peer: { tls: { enabled: true }, list: [3] } })).toEqual({
      peer: { id: 'x', tls: { enabled: true, cert: { file: 'a' } }, list: [3] },
      other: 1,
    });
  });
});

describe('toEnv', () => {
  it('flattens to Fabric variable names with each binary\'s list syntax', () => {
    expect(toEnv('ORDERER', { General: { TLS: { Enabled: true, RootCAs: ['/a', '/b'] } } })).toEqual({
      ORDERER_GENERAL_TLS_ENABLED: 'true',
      ORDERER_GENERAL_TLS_ROOTCAS: '[/a,/b]',
    });
    expect(toEnv('CORE', { peer: { files: ['/a', '/b'] }, chaincode: { externalBuilders: [{ name: 'x' }] } })).toEqual({ CORE_PEER_FILES: '/a /b' });
  });
});

describe('topology and channel configuration', () => {
  it('gives every listener its own port', () => {
    const ports = allPorts().map((p) => p.port);
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('makes a Raft channel with every orderer as a consenter and every member org with an anchor peer', () => {
    const profile = (configtx(nativePlacement) as { Profiles: { EmrChannel: Record<string, any> } }).Profiles.EmrChannel;
    expect(profile.Orderer.OrdererType).toBe('etcdraft');
    expect(profile.Orderer.EtcdRaft.Consenters.map((c: { Port: number }) => c.Port)).toEqual(topology.ordererOrg.orderers.map((o) => o.port));
    expect(profile.Application.Organizations.map((o: { ID: string; AnchorPeers: { Port: number }[] }) => [o.ID, o.AnchorPeers[0]!.Port])).toEqual(
      topology.members.map((m) => [m.mspId, m.peer.port]),
    );
  });
});
