import { BLOCK_CENSORSHIP_TIMEOUT, configtx, consensusSection, mergeConfig, ordererOverrides, peerOverrides, smartBftOptions, toEnv } from '../../../network/src/fabric-config';
import { nativePlacement } from '../../../network/src/node-env';
import { checkSetting, MAX_ORDERERS, orderingFromEnv, parseOrdererCount, parseOrdering, settingFor, upRequest } from '../../../network/src/ordering';
import { allPorts, deliverProxyPort, ordererSpecs, relayPorts, topology, topologyFor } from '../../../network/src/topology';
import { relaysFile } from '../../../network/src/wan/launch';

type Profile = Record<string, any>;
const profileOf = (ordering: 'etcdraft' | 'bft' | 'drkpbft', orderers = 4): Profile =>
  (configtx(nativePlacement, topologyFor({ ordering, orderers, wan: false, deliverProxies: false })) as { Profiles: { EmrChannel: Profile } }).Profiles.EmrChannel;

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
  it('gives every listener its own port, for every orderer count', () => {
    for (let n = 1; n <= MAX_ORDERERS; n++) {
      const ports = allPorts(topologyFor({ ordering: 'etcdraft', orderers: n, wan: false, deliverProxies: false })).map((p) => p.port);
      expect([n, new Set(ports).size]).toEqual([n, ports.length]);
    }
    for (let n = 4; n <= MAX_ORDERERS; n++) {
      const drk = allPorts(topologyFor({ ordering: 'drkpbft', orderers: n, wan: false, deliverProxies: false }));
      expect(drk.filter((p) => p.owner.includes('DRKPBFT'))).toHaveLength(3 * n);
      expect([n, new Set(drk.map((p) => p.port)).size]).toEqual([n, drk.length]);
      // Everything at once: WAN relays and deliver proxies beside the replicas.
      const all = allPorts(topologyFor({ ordering: 'drkpbft', orderers: n, wan: true, deliverProxies: true }));
      expect(all.filter((p) => p.owner.includes('deliver prox'))).toHaveLength(n + 1);
      expect([n, new Set(all.map((p) => p.port)).size]).toEqual([n, all.length]);
    }
  });

  it('with deliver proxies, points every peer at the proxy of each orderer endpoint of the channel config', () => {
    const t = topologyFor({ ordering: 'bft', orderers: 4, wan: false, deliverProxies: true });
    const endpoints = (configtx(nativePlacement, t) as { Profiles: { EmrChannel: Profile } }).Profiles.EmrChannel.Orderer.Organizations[0]!.OrdererEndpoints;
    const client = (peerOverrides(t.members[0]!, nativePlacement, t) as { peer: { deliveryclient: { addressOverrides: { from: string; to: string; caCertsFile: string }[]; blockCensorshipTimeoutKey: string } } }).peer.deliveryclient;
    expect(client.addressOverrides.map((o) => o.from)).toEqual(endpoints);
    expect(client.addressOverrides.map((o) => o.to)).toEqual(t.ordererOrg.orderers.map((o) => `127.0.0.1:${deliverProxyPort(o)}`));
    expect(new Set(client.addressOverrides.map((o) => o.caCertsFile))).toEqual(new Set([nativePlacement.caCert(t.ordererOrg)]));
    expect(client.blockCensorshipTimeoutKey).toBe(BLOCK_CENSORSHIP_TIMEOUT);
    const plain = peerOverrides(t.members[0]!, nativePlacement, { ...t, deliverProxies: false }) as { peer: { deliveryclient: Record<string, unknown> } };
    expect(plain.peer.deliveryclient).toEqual({ blockCensorshipTimeoutKey: BLOCK_CENSORSHIP_TIMEOUT });
  });

  it('keeps orderer1..3 where they were and puts orderer4 past the proxies and key centres (73xx)', () => {
    expect(ordererSpecs(7).map((o) => [o.name, o.consenterId, o.port, o.adminPort, o.operationsPort])).toEqual([
      ['orderer1', 1, 7050, 7053, 8443],
      ['orderer2', 2, 7150, 7153, 8543],
      ['orderer3', 3, 7250, 7253, 8643],
      ['orderer4', 4, 7450, 7453, 8743],
      ['orderer5', 5, 7550, 7553, 8843],
      ['orderer6', 6, 7650, 7653, 8943],
      ['orderer7', 7, 7750, 7753, 9043],
    ]);
    expect(topology.ordererOrg.orderers).toHaveLength(4);
  });

  it('makes a Raft channel with every orderer as a consenter and every member org with an anchor peer', () => {
    const profile = profileOf('etcdraft');
    expect(profile.Orderer.OrdererType).toBe('etcdraft');
    expect(profile.Orderer.ConsenterMapping).toBeUndefined();
    expect(profile.Orderer.EtcdRaft.Consenters.map((c: { Port: number }) => c.Port)).toEqual([7050, 7150, 7250, 7450]);
    expect(profile.Application.Organizations.map((o: { ID: string; AnchorPeers: { Port: number }[] }) => [o.ID, o.AnchorPeers[0]!.Port])).toEqual(
      topology.members.map((m) => [m.mspId, m.peer.port]),
    );
  });

  it('makes a BFT channel whose consenter mapping names each orderer by id, endpoint, TLS certificates and enrolment certificate', () => {
    const profile = profileOf('bft', 7);
    expect(profile.Capabilities).toEqual({ V3_0: true });
    expect(profile.Orderer.OrdererType).toBe('BFT');
    expect(profile.Orderer.EtcdRaft).toBeUndefined();
    const mapping = profile.Orderer.ConsenterMapping as Record<string, unknown>[];
    expect(mapping).toHaveLength(7);
    expect(mapping[3]).toEqual({
      ID: 4,
      Host: '127.0.0.1',
      Port: 7450,
      MSPID: 'OrdererMSP',
      ClientTLSCert: `${nativePlacement.tlsDir(topology.ordererOrg, 'orderer4')}/cert.pem`,
      ServerTLSCert: `${nativePlacement.tlsDir(topology.ordererOrg, 'orderer4')}/cert.pem`,
      Identity: `${nativePlacement.mspDir(topology.ordererOrg, 'orderer4')}/signcerts/cert.pem`,
    });
    expect(new Set(mapping.map((c) => c.ID)).size).toBe(7);
    // Every consenter is also a delivery endpoint of the orderer org, one to one.
    expect(profile.Orderer.Organizations[0].OrdererEndpoints).toEqual(mapping.map((c) => `${c.Host}:${c.Port}`));
    expect(profile.Orderer.SmartBFT).toEqual(smartBftOptions(topology.batchTimeout));
    expect(profile.Orderer.Policies.BlockValidation).toBeDefined(); // configtxgen requires it, then replaces it
  });

  it('keeps SmartBFT\'s own ordering of its timeouts (forward ≤ complain ≤ auto-remove, resend ≤ view change)', () => {
    const o = smartBftOptions('250ms');
    const ms = (d: string) => Number(/^(\d+)(ms|s|m)$/.exec(d)![1]) * { ms: 1, s: 1000, m: 60000 }[/^(\d+)(ms|s|m)$/.exec(d)![2] as 'ms' | 's' | 'm'];
    expect(ms(o.RequestForwardTimeout)).toBeLessThanOrEqual(ms(o.RequestComplainTimeout));
    expect(ms(o.RequestComplainTimeout)).toBeLessThanOrEqual(ms(o.RequestAutoRemoveTimeout));
    expect(ms(o.ViewChangeResendInterval)).toBeLessThanOrEqual(ms(o.ViewChangeTimeout));
  });

  it('gives drkpbft the very same channel configuration as bft; only the orderer node config differs', () => {
    expect(profileOf('drkpbft')).toEqual(profileOf('bft'));
    const [o] = ordererSpecs(4);
    const bft = ordererOverrides(o!, nativePlacement, 'bft') as Profile;
    const drk = ordererOverrides(o!, nativePlacement, 'drkpbft') as Profile;
    // The chain of orderer k links to the replica beside it (replicaPorts: 11050 + 100 (k − 1), + 2).
    expect(drk.Consensus).toEqual({ ...bft.Consensus, BFTImplementation: 'drkpbft', DRKPBFTLink: '127.0.0.1:11052' });
    expect(consensusSection('drkpbft', '/d', ordererSpecs(4)[3]!, '127.0.0.1').DRKPBFTLink).toBe('127.0.0.1:11352');
    expect({ ...drk, Consensus: undefined }).toEqual({ ...bft, Consensus: undefined });
    expect(consensusSection('etcdraft', '/d', o!, '127.0.0.1')).toEqual({ WALDir: '/d/etcdraft/wal', SnapDir: '/d/etcdraft/snapshot' });
    expect(consensusSection('bft', '/d', o!, '127.0.0.1').WALDir).toBe('/d/smartbft/wal');
  });
});

describe('the ordering setting', () => {
  it('defaults to etcdraft with 4 orderers, the same n as the BFT modes', () => {
    expect(settingFor({})).toEqual({ ordering: 'etcdraft', orderers: 4, wan: false, deliverProxies: false });
    expect(settingFor({ ordering: 'bft' })).toEqual({ ordering: 'bft', orderers: 4, wan: false, deliverProxies: false });
    expect(settingFor({ ordering: 'bft', orderers: 7, wan: true, deliverProxies: false })).toEqual({ ordering: 'bft', orderers: 7, wan: true, deliverProxies: false });
  });

  it('reads up\'s arguments over the environment, and names what it cannot take', () => {
    expect(upRequest(['--ordering', 'bft', '--deliver-proxies'], {})).toEqual({ ordering: 'bft', deliverProxies: true });
    expect(upRequest(['--orderers', '7', '--wan'], { EMR_ORDERING: 'drkpbft', EMR_ORDERERS: '4' })).toEqual({ ordering: 'drkpbft', orderers: 7, wan: true });
    expect(upRequest([], { EMR_DELIVER_PROXIES: '1' })).toEqual({ deliverProxies: true });
    expect(() => upRequest(['--deliver-proxies', 'yes'], {})).toThrow("--deliver-proxies takes no value ('yes' was given); leave it out to switch it off");
    expect(() => upRequest(['--deliver-proxy'], {})).toThrow("up: unknown argument '--deliver-proxy'; up takes --ordering <value>, --orderers <value>, --wan, --deliver-proxies");
    expect(() => upRequest(['--ordering'], {})).toThrow('--ordering needs a value');
    expect(() => upRequest(['--ordering', 'pbft'], {})).toThrow("--ordering: unknown ordering 'pbft'");
  });

  it('reads EMR_ORDERING, EMR_ORDERERS, EMR_WAN and EMR_DELIVER_PROXIES', () => {
    expect(orderingFromEnv({})).toEqual({});
    expect(orderingFromEnv({ EMR_ORDERING: 'bft', EMR_ORDERERS: '7', EMR_WAN: '1' })).toEqual({ ordering: 'bft', orderers: 7, wan: true });
    expect(orderingFromEnv({ EMR_DELIVER_PROXIES: '1' })).toEqual({ deliverProxies: true });
    expect(() => orderingFromEnv({ EMR_DELIVER_PROXIES: 'on' })).toThrow("EMR_DELIVER_PROXIES: 'on' is not 0 or 1");
    expect(() => orderingFromEnv({ EMR_WAN: 'yes' })).toThrow("EMR_WAN: 'yes' is not 0 or 1");
  });

  it('under wan, orderers dial each other through relays; clients keep the orderers\' own ports', () => {
    for (const ordering of ['etcdraft', 'bft', 'drkpbft'] as const) {
      const t = topologyFor({ ordering, orderers: 7, wan: true, deliverProxies: false });
      const o = (configtx(nativePlacement, t) as { Profiles: { EmrChannel: Profile } }).Profiles.EmrChannel.Orderer;
      const consenters = ordering === 'etcdraft' ? o.EtcdRaft.Consenters : o.ConsenterMapping;
      expect(consenters.map((c: { Port: number }) => c.Port)).toEqual(t.ordererOrg.orderers.map((x) => relayPorts(x).orderer));
      expect(o.Organizations[0].OrdererEndpoints).toEqual(t.ordererOrg.orderers.map((x) => `127.0.0.1:${x.port}`));
      const ports = allPorts(t).map((p) => p.port);
      expect(new Set(ports).size).toBe(ports.length);
      const relays = relaysFile(t);
      expect(relays.links).toHaveLength(ordering === 'drkpbft' ? 14 : 7);
      expect(relays.plan!.zoneOf).toEqual(Object.fromEntries(t.ordererOrg.orderers.map((x, i) => [x.name, i % 3])));
    }
  });

  it('rejects bad values, naming the value and the choices', () => {
    expect(() => parseOrdering('raft', '--ordering')).toThrow("--ordering: unknown ordering 'raft'; choose one of etcdraft, bft, drkpbft");
    expect(() => orderingFromEnv({ EMR_ORDERING: 'BFT' })).toThrow(/EMR_ORDERING: unknown ordering 'BFT'/);
    for (const bad of ['0', '11', 'four', '4.5', '-4', '']) expect(() => parseOrdererCount(bad, '--orderers')).toThrow(`--orderers: '${bad}' is not an orderer count; give a whole number from 1 to ${MAX_ORDERERS}`);
  });

  it('refuses a BFT mode with fewer than 4 orderers; etcdraft may run fewer', () => {
    expect(() => checkSetting({ ordering: 'bft', orderers: 3, wan: false, deliverProxies: false })).toThrow("ordering 'bft' needs at least 4 orderers (3f + 1 with f = 1); 3 was asked");
    expect(() => settingFor({ ordering: 'drkpbft', orderers: 1 })).toThrow(/'drkpbft' needs at least 4 orderers/);
    expect(checkSetting({ ordering: 'etcdraft', orderers: 3, wan: false, deliverProxies: false })).toEqual({ ordering: 'etcdraft', orderers: 3, wan: false, deliverProxies: false });
  });
});
