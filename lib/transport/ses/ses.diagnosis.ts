import type { SesAccountCheck, SesTransport } from './ses.transport';

/**
 * The doctor's view of a SES transport: one `verify` step from `GetAccount` in place of the SMTP steps
 * (dns, connect, tls, greeting, auth). Shaped like `TransportDiagnosis` (lib/diagnostics, a layer above
 * transport, so it is not imported here): the diagnostics can return it as it is.
 */
export interface SesDiagnosis {
  ok: boolean;
  transport: string;
  steps: Array<{ step: 'verify'; ok: boolean; ms: number; detail: string }>;
  failure?: { code: 'AUTH_FAILED' | 'CONNECTION_REFUSED' | 'TRANSPORT_FAILED'; message: string; hint: string };
}

/** The failure code a failed GetAccount maps to: a refused key is AUTH_FAILED, no answer CONNECTION_REFUSED. */
function failureCodeOf(check: SesAccountCheck): 'AUTH_FAILED' | 'CONNECTION_REFUSED' | 'TRANSPORT_FAILED' {
  if (check.failureKind === 'unavailable') return 'CONNECTION_REFUSED';
  if (check.failureKind === 'configuration' && check.sendingEnabled === undefined) return 'AUTH_FAILED';
  return 'TRANSPORT_FAILED';
}

/** Calls GetAccount and says, in the doctor's terms, whether the account can send and what limits it. */
export async function diagnoseSesTransport(transport: SesTransport): Promise<SesDiagnosis> {
  const started = performance.now();
  const account = await transport.checkAccount();
  const ms = Math.round(performance.now() - started);
  const detail = account.ok
    ? [`GetAccount in ${account.region}: sending enabled${account.productionAccess ? ', production access' : ''}`, ...account.notes].join('; ')
    : (account.reason ?? 'GetAccount did not answer ok');
  const diagnosis: SesDiagnosis = { ok: account.ok, transport: transport.description, steps: [{ step: 'verify', ok: account.ok, ms, detail }] };
  if (!account.ok) {
    const code = failureCodeOf(account);
    diagnosis.failure = {
      code,
      message: detail,
      hint:
        code === 'AUTH_FAILED'
          ? 'check transport.ses.credentials and that the IAM identity may call ses:GetAccount and ses:SendEmail in this region'
          : code === 'CONNECTION_REFUSED'
            ? 'this host must reach the SES API over HTTPS (port 443): check proxies, firewalls and transport.ses.region/endpoint'
            : 'see the SES console (Account dashboard) for why this account may not send',
    };
  }
  return diagnosis;
}
