import { Test, TestingModule } from '@nestjs/testing';
import { EmailWorkflowErrorCode, EmailWorkflowModule, InvalidOptionsError } from 'nestjs-email-workflow';
import type { EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { SilentLogger } from './capturing-logger';

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

/** The error compiling a module with these options fails with; throws if the module boots. */
export async function bootError(options: EmailWorkflowModuleOptions): Promise<unknown> {
  let moduleRef: TestingModule | undefined;
  try {
    moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options)] })
      .setLogger(new SilentLogger())
      .compile();
  } catch (error) {
    return error;
  }
  await moduleRef.close();
  throw new Error('expected the module to refuse these options');
}

/** The one InvalidOptionsError compiling a module with these options fails with. */
export async function invalidOptionsError(options: EmailWorkflowModuleOptions): Promise<InvalidOptionsError> {
  const error = await bootError(options);
  expect(error).toBeInstanceOf(InvalidOptionsError);
  expect(error).toMatchObject({ name: 'InvalidOptionsError', code: 'EMAIL_WORKFLOW_INVALID_OPTIONS' });
  expect((error as InvalidOptionsError).code).toBe(EmailWorkflowErrorCode.InvalidOptions);
  return error as InvalidOptionsError;
}
