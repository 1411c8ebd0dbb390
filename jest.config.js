/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/lib'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
  moduleNameMapper: {
    '^nestjs-email-workflow$': '<rootDir>/lib/index.ts',
    '^nestjs-email-workflow/health$': '<rootDir>/lib/health/index.ts',
    '^nestjs-email-workflow/testing$': '<rootDir>/lib/testing/index.ts',
    '^nestjs-email-workflow/dev-inbox$': '<rootDir>/lib/dev-inbox/index.ts',
    '^nestjs-email-workflow/webhooks$': '<rootDir>/lib/webhooks/index.ts',
  },
  globalSetup: '<rootDir>/test/global-setup.js',
  testTimeout: 60_000,
  maxWorkers: 2,
};
