import type { FactoryProvider, ModuleMetadata } from '@nestjs/common';
import type { EmailWorkflowModuleExtras, BrandOptions, EmailWorkflowModuleOptions, LinkOptions } from '../module';
import type { EmailTransportOption } from '../transport';

/**
 * Where `diagnoseTransport()` and `sendTestEmail()`, which talk to a server directly, go when a test
 * gives no transport: a reserved name (RFC 2606) that never resolves, so they fail fast and say why.
 */
const UNREACHABLE_TRANSPORT: EmailTransportOption = { host: 'smtp.outbox.invalid', pool: false };
const TEST_FROM = 'Test App <no-reply@app.test>';
const TEST_BRAND: BrandOptions = { name: 'Test App' };
const TEST_LINKS: LinkOptions = {
  verifyEmail: 'http://localhost/verify-email?token={token}',
  resetPassword: 'http://localhost/reset-password?token={token}',
  signIn: 'http://localhost/sign-in?token={token}',
  confirmEmailChange: 'http://localhost/confirm-email-change?token={token}',
  revertEmailChange: 'http://localhost/revert-email-change?token={token}',
};

/**
 * Options of `EmailWorkflowTestingModule.forRoot()`: those of `EmailWorkflowModule.forRoot()`, with
 * test defaults for what a test rarely cares about. There is no `queue`: emails always go through the
 * in-process queue, straight to the outbox.
 */
export interface EmailWorkflowTestingOptions
  extends Omit<EmailWorkflowModuleOptions, 'transport' | 'from' | 'brand' | 'links' | 'queue'>,
    EmailWorkflowModuleExtras {
  /**
   * Used only by `diagnoseTransport()` and `sendTestEmail()`, which talk to the server directly; every
   * `send()` is captured. @default an unresolvable `smtp.outbox.invalid`
   */
  transport?: EmailTransportOption;
  /** @default 'Test App <no-reply@app.test>' */
  from?: string;
  /** @default { name: 'Test App' } */
  brand?: BrandOptions;
  /**
   * Each defaults to a localhost page, so every flow runs without configuring one:
   * `http://localhost/verify-email?token={token}`, likewise `/reset-password`, `/sign-in`,
   * `/confirm-email-change` and `/revert-email-change`.
   */
  links?: Partial<LinkOptions>;
}

/** Options of `EmailWorkflowTestingModule.forRootAsync()`: a factory, with what it injects. */
export interface EmailWorkflowTestingAsyncOptions extends Pick<ModuleMetadata, 'imports'>, EmailWorkflowModuleExtras {
  // `any`, as in Nest's own factory providers: the injected values' types are the factory's to declare.
  useFactory: (...injected: any[]) => EmailWorkflowTestingOptions | Promise<EmailWorkflowTestingOptions>;
  inject?: FactoryProvider['inject'];
}

/** Complete module options: the test's own, with the test defaults where it gave none. */
export function withTestDefaults(options: EmailWorkflowTestingOptions): EmailWorkflowModuleOptions {
  return {
    ...options,
    transport: options.transport ?? UNREACHABLE_TRANSPORT,
    from: options.from ?? TEST_FROM,
    brand: options.brand ?? TEST_BRAND,
    links: { ...TEST_LINKS, ...options.links },
  };
}
