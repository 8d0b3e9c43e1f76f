// Projects, run one after another by test/run-all.js (see README):
//   unit         pure logic, in-memory fakes allowed
//   unit-noble   the crypto property tests again on the noble backend (mcl is the default)
//   integration  the real network: started once per run by the global setup, stopped at the end
//   lifecycle    the real network's own lifecycle (cold start, idempotence, resume on its data, stop)
//   soak         under load and at scale: every kind of node killed with SIGKILL while the SDK
//                works (nothing committed lost), malformed calls by the thousand (nothing written)
//   faults       orderer crashes and byzantine orderers on the real network under load
// The live projects share one global setup: the tests' network, with deliver proxies.
// ESM-only packages (@noble/curves and @noble/hashes; kubo-rpc-client and its dependency
// tree, listed by scripts: node test/support/esm-packages.js): ts-jest transpiles them to
// CommonJS for jest, which loads modules through its own CommonJS loader.
// The live projects run their own network, in their own state directory: a test run never
// touches the network of `npm run network -- up` (both use the same ports, so only one runs).
process.env.EMR_NETWORK_DIR ??= require('node:path').join(__dirname, 'network', '.test-run');
const esmPackages = require('./test/support/esm-packages');
const esm = `(?:${esmPackages.map((p) => p.replace(/[.]/g, '\\.')).join('|')})`;
const base = {
  testEnvironment: 'node',
  // Some of those packages export only an `import` condition.
  resolver: '<rootDir>/test/support/jest-resolver.js',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }],
    [`^.+/node_modules/${esm}/.+\\.js$`]: ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022' }, isolatedModules: true }],
  },
  transformIgnorePatterns: [`/node_modules/(?!${esm}/)`],
  // Sources, not dist: one copy of the crypto (its backend choice is module state), and one
  // of the protocol the chaincode and the SDK share (its error class, its signing payloads).
  moduleNameMapper: { '^@emr/crypto$': '<rootDir>/crypto/src/index.ts', '^@emr/protocol$': '<rootDir>/protocol/src/index.ts' },
};

module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'], setupFiles: ['<rootDir>/test/support/quiet-logs.ts'], setupFilesAfterEnv: ['<rootDir>/test/support/default-backend.ts'] },
    {
      ...base,
      displayName: 'unit-noble',
      testMatch: ['<rootDir>/test/unit/crypto/{pre,dkg}.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/noble-backend.ts'],
    },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
    { ...base, displayName: 'lifecycle', testMatch: ['<rootDir>/test/lifecycle/**/*.test.ts'] },
    {
      ...base,
      displayName: 'soak',
      testMatch: ['<rootDir>/test/soak/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
    {
      ...base,
      displayName: 'faults',
      testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
  ],
};
