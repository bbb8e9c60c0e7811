/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  // Sources import relative modules with '.js' (Node's own resolution); jest loads the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/(?:lib|spec|examples|bench|[^/]+)/.*|\\.{1,2}/[^/]+)\\.js$': '$1' },
  // Integration specs start real redis-server processes; a slow shared machine needs headroom.
  testTimeout: 60_000,
  maxWorkers: 2,
};
