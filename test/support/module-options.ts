import type { EmailWorkflowModuleOptions } from 'nestjs-email-workflow';

/** Options for a module sending to a local, plaintext test server. */
export function localOptions(port: number, overrides: Partial<EmailWorkflowModuleOptions> = {}): EmailWorkflowModuleOptions {
  return {
    transport: { host: '127.0.0.1', port, security: 'none', pool: false },
    from: 'Acme <no-reply@acme.test>',
    brand: { name: 'Acme', supportEmail: 'support@acme.test', postalAddress: '1 Main St, Springfield' },
    links: {
      verifyEmail: 'http://localhost:3000/verify-email?token={token}',
      resetPassword: 'http://localhost:3000/reset-password?token={token}',
    },
    ...overrides,
  };
}
