import { classifySesFailure, sesFailureKind, sesSecretRedactor } from '../../lib/transport/ses/ses.failure';

/** An error shaped as the AWS SDK v3 throws one: its name, fault and HTTP metadata. */
function sdkError(name: string, status: number | undefined, message = 'refused', extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name, $fault: status !== undefined && status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: '3f1c2d4e-1111-2222-3333-444455556666' }, ...extra });
}

describe('sorting SES API failures', () => {
  it.each([
    ['TooManyRequestsException', 429, 'transient'],
    ['ThrottlingException', 400, 'transient'],
    ['LimitExceededException', 400, 'transient'],
    ['InternalFailure', 500, 'transient'],
    ['ServiceUnavailable', 503, 'transient'],
    ['Unknown', 502, 'transient'],
    ['MessageRejected', 400, 'permanent'],
    ['BadRequestException', 400, 'permanent'],
    ['UnrecognizedClientException', 403, 'configuration'],
    ['InvalidClientTokenId', 403, 'configuration'],
    ['SignatureDoesNotMatch', 403, 'configuration'],
    ['AccessDeniedException', 403, 'configuration'],
    ['ExpiredTokenException', 403, 'configuration'],
    ['AccountSuspendedException', 400, 'configuration'],
    ['SendingPausedException', 400, 'configuration'],
    ['MailFromDomainNotVerifiedException', 400, 'configuration'],
    ['CredentialsProviderError', undefined, 'configuration'],
    ['Unknown', 403, 'configuration'],
    ['Unknown', 400, 'permanent'],
    ['TimeoutError', undefined, 'unavailable'],
  ])('%s (HTTP %s) is %s', (name, status, kind) => {
    expect(sesFailureKind(sdkError(name, status))).toBe(kind);
    expect(classifySesFailure(sdkError(name, status))).toMatchObject({ kind, reason: expect.stringContaining(name) });
  });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT'])('a socket error %s is unavailable', (code) => {
    expect(sesFailureKind(Object.assign(new Error(`connect ${code} 127.0.0.1:443`), { code }))).toBe('unavailable');
  });

  it('quotes neither the key nor the secret nor an access key id it does not know, and keeps the request id', () => {
    const credentials = { accessKeyId: 'AKIAKNOWNKEY00000001', secretAccessKey: 'known/Secret+Value/abcdefghij', sessionToken: 'session-token-value' };
    const error = sdkError('SignatureDoesNotMatch', 403, `key AKIAKNOWNKEY00000001 secret known/Secret+Value/abcdefghij token session-token-value other ASIAOTHERKEY00000002`);
    const { reason } = classifySesFailure(error, sesSecretRedactor(credentials));
    expect(reason).not.toMatch(/AKIAKNOWNKEY|known\/Secret|session-token-value|ASIAOTHERKEY/);
    expect(reason).toContain('request id 3f1c2d4e-1111-2222-3333-444455556666');
    expect(reason).toContain('HTTP 403');
  });
});
