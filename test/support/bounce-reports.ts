import { Test, TestingModule } from '@nestjs/testing';
import { BounceMailbox, EmailBounceProcessor, EmailDeliveryLog, EmailEventSubscriptions, EmailSuppressions, EmailWorkflowModule, EmailWorkflowService } from 'nestjs-email-workflow';
import type { EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { CapturingLogger } from './capturing-logger';
import { EventLog } from './workflow';

/*
 * Reports as a receiving server would mail them back, built from the documented layouts (RFC 3464 DSN as
 * Postfix writes it, RFC 5965 ARF), with the envelope tag, recipient and Message-ID a test chooses.
 */

export interface DsnParts {
  /** The tag after `bounces+`, or none: the report then goes to the plain bounce address (a rewriting relay). */
  tag?: string;
  recipient: string;
  action?: 'failed' | 'delayed' | 'delivered';
  status?: string;
  diagnostic?: string;
  /** The Message-ID in the returned headers. */
  messageId?: string;
  bounceDomain?: string;
  /** Distinguishes two copies of one report (a relay that sent it twice). */
  reportId?: string;
}

export function dsn({ tag, recipient, action = 'failed', status = '5.1.1', diagnostic, messageId, bounceDomain = 'acme.test', reportId = 'A1' }: DsnParts): string {
  const to = tag === undefined ? `bounces@${bounceDomain}` : `bounces+${tag}@${bounceDomain}`;
  const reply = diagnostic ?? `550 ${status} <${recipient}>: Recipient address rejected: User unknown`;
  const boundary = `${reportId}.1748858403/mail.relay.test`;
  return [
    'Return-Path: <>',
    `Delivered-To: ${to}`,
    'From: MAILER-DAEMON@mail.relay.test (Mail Delivery System)',
    `Subject: ${action === 'delayed' ? 'Delayed Mail (still being retried)' : 'Undelivered Mail Returned to Sender'}`,
    `To: ${to}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    `Message-Id: <${reportId}@mail.relay.test>`,
    '',
    `--${boundary}`,
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mail.relay.test.',
    '',
    `--${boundary}`,
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mail.relay.test',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    `Original-Recipient: rfc822;${recipient}`,
    `Action: ${action}`,
    `Status: ${status}`,
    `Diagnostic-Code: smtp; ${reply}`,
    '',
    `--${boundary}`,
    'Content-Description: Undelivered Message Headers',
    'Content-Type: text/rfc822-headers',
    '',
    `Return-Path: <${to}>`,
    'From: Acme <no-reply@acme.test>',
    `To: ${recipient}`,
    'Subject: Your Acme account is ready',
    ...(messageId === undefined ? [] : [`Message-ID: ${messageId}`]),
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

export interface ArfParts {
  tag?: string;
  /** The complaining recipient, or none (providers often redact it). */
  recipient?: string;
  messageId?: string;
}

export function arf({ tag, recipient, messageId }: ArfParts): string {
  const boundary = 'part1_arf_boundary';
  return [
    'From: Mailbox Feedback Loop <feedback@feedback.mailbox.test>',
    'To: fbl@acme.test',
    'Subject: FW: Your Acme account is ready',
    'Message-ID: <arf-1@feedback.mailbox.test>',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset="US-ASCII"',
    '',
    'This is an email abuse report.',
    '',
    `--${boundary}`,
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    'User-Agent: MailboxFBL/2.1',
    'Version: 1',
    ...(tag === undefined ? [] : [`Original-Mail-From: <bounces+${tag}@acme.test>`]),
    ...(recipient === undefined ? [] : [`Original-Rcpt-To: <${recipient}>`]),
    '',
    `--${boundary}`,
    'Content-Type: message/rfc822',
    'Content-Disposition: inline',
    '',
    'From: Acme <no-reply@acme.test>',
    `To: ${recipient ?? 'redacted@mailbox.test'}`,
    'Subject: Your Acme account is ready',
    ...(messageId === undefined ? [] : [`Message-ID: ${messageId}`]),
    '',
    'Welcome to Acme.',
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

/** An RFC 3834 out-of-office reply to the bounce address: not a bounce. */
export function outOfOffice(tag: string): string {
  return [
    'From: Ada <ada@example.test>',
    `To: bounces+${tag}@acme.test`,
    'Subject: Out of office: Your Acme account is ready',
    'Auto-Submitted: auto-replied',
    'Content-Type: text/plain',
    '',
    'I am away until Monday.',
    '',
  ].join('\r\n');
}

/** A started module with what the bounce specs look at; `close()` it (or let the spec's list of modules do so). */
export interface BounceApp {
  moduleRef: TestingModule;
  emails: EmailWorkflowService;
  log: EmailDeliveryLog;
  bounces: EmailBounceProcessor;
  suppressions: EmailSuppressions;
  mailbox: BounceMailbox;
  events: EventLog;
  logger: CapturingLogger;
}

/** Boots a module with these options, its logs captured and every event recorded from boot on. */
export async function bootBounceApp(options: EmailWorkflowModuleOptions): Promise<BounceApp> {
  const logger = new CapturingLogger();
  const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options)] })
    .setLogger(logger)
    .compile();
  const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
  await moduleRef.init();
  return {
    moduleRef,
    emails: moduleRef.get(EmailWorkflowService),
    log: moduleRef.get(EmailDeliveryLog),
    bounces: moduleRef.get(EmailBounceProcessor),
    suppressions: moduleRef.get(EmailSuppressions),
    mailbox: moduleRef.get(BounceMailbox),
    events,
    logger,
  };
}
