import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { EmailWorkflowErrorCode, InvalidOptionsError } from 'nestjs-email-workflow';
import { EmailWebhooksModule, InvalidWebhookOptionsError } from 'nestjs-email-workflow/webhooks';
import type { EmailWebhooksOptions } from 'nestjs-email-workflow/webhooks';
import { queueIdOf } from '../../lib/delivery-log';

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-events';
const sendGridKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

/** The problems forRoot throws for these options, as `path: problem`. */
function problemsOf(options: EmailWebhooksOptions): string[] {
  try {
    EmailWebhooksModule.forRoot(options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidWebhookOptionsError);
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidWebhookOptionsError).code).toBe(EmailWorkflowErrorCode.InvalidOptions);
    expect((error as Error).message).toMatch(/^EmailWebhooksModule options are invalid/);
    return (error as InvalidWebhookOptionsError).problems.map(({ path, problem }) => `${path}: ${problem}`);
  }
  throw new Error('forRoot accepted the options');
}

describe('EmailWebhooksModule.forRoot options', () => {
  it('accepts each provider configured as documented, and mounts one route per provider', () => {
    const module = EmailWebhooksModule.forRoot({
      ses: { topics: [TOPIC] },
      sendgrid: { publicKey: sendGridKey },
      mailgun: { signingKey: 'key-0123456789abcdef' },
      postmark: { basicAuth: { username: 'hooks', password: 's3cret' }, allowIps: ['3.134.147.250', '50.31.156.0/24', '2001:db8::1'] },
      resend: { secret: `whsec_${randomBytes(24).toString('base64')}` },
    });
    expect(module.controllers).toHaveLength(5);
    expect(EmailWebhooksModule.forRoot({ mailgun: { signingKey: 'k' } }).controllers).toHaveLength(1);
  });

  it('refuses no provider, and names every bad field at once', () => {
    expect(problemsOf({})).toEqual(['(options): configure no provider']);
    expect(
      problemsOf({
        path: 'not a path?',
        maxBodySize: 10,
        maxAge: -1,
        ses: { topics: [] },
        sendgrid: { publicKey: 'not-a-key' },
        mailgun: { signingKey: '' },
        postmark: {},
        resend: { secret: 'secret-without-prefix' },
      }),
    ).toEqual([
      'path: must be a URL path',
      'maxBodySize: must be a whole number of bytes, 1024 or more',
      'maxAge: must be a whole number of ms, 1000 or more',
      'ses.topics: must list the ARNs of the SNS topics SES publishes to',
      expect.stringMatching(/^sendgrid\.publicKey: /),
      'mailgun.signingKey: is missing',
      'postmark: has neither basicAuth nor allowIps: Postmark signs nothing, so anyone could post',
      'resend.secret: not a whsec_ secret',
    ]);
  });

  it('refuses an RSA key for SendGrid, a bad allow-list entry, a topic that is no SNS ARN', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(problemsOf({ sendgrid: { publicKey: rsa } })).toEqual(['sendgrid.publicKey: not an ECDSA P-256 key']);
    expect(problemsOf({ postmark: { allowIps: ['postmark.example'] } })).toEqual(['postmark.allowIps: "postmark.example" is not an IP address or CIDR range']);
    expect(problemsOf({ postmark: { allowIps: ['10.0.0.0/40'] } })).toEqual(['postmark.allowIps: "10.0.0.0/40" has a bad prefix length']);
    expect(problemsOf({ ses: { topics: ['arn:aws:sqs:us-east-1:123456789012:queue'] } })).toEqual(['ses.topics: must list the ARNs of the SNS topics SES publishes to']);
  });

  it('refuses the test-only certificate server outside NODE_ENV=test', () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      expect(problemsOf({ ses: { topics: [TOPIC], testOnlyCertificateServer: { host: '127.0.0.1:8443', ca: 'pem' } } })).toEqual([
        'ses.testOnlyCertificateServer: is for tests only and NODE_ENV is not test',
      ]);
    } finally {
      process.env.NODE_ENV = previous;
    }
  });
});

describe('queueIdOf', () => {
  it("reads Amazon SES's message id from its `250 Ok <id>`, and still Postfix's, Exim's and Sendmail's queue ids", () => {
    expect(queueIdOf('250 Ok 010001727bf05c7f-8ff7cc5f-aea3-4284-91ea-51f2f82c4469-000000')).toBe('010001727bf05c7f-8ff7cc5f-aea3-4284-91ea-51f2f82c4469-000000');
    expect(queueIdOf('250 2.0.0 Ok: queued as 4XyzB1')).toBe('4XyzB1');
    expect(queueIdOf('250 OK id=1rAbCd-000123-4x')).toBe('1rAbCd-000123-4x');
    expect(queueIdOf('250 Ok')).toBeUndefined();
  });
});
