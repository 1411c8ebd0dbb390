import type { HintAudience } from '../transport';

/** The stages of an SMTP conversation, in the order a diagnosis walks them. */
export type DiagnosisStepName = 'dns' | 'connect' | 'tls' | 'greeting' | 'auth' | 'mail-from' | 'rcpt' | 'data' | 'verify' | 'send';

/** One step of a diagnosis, passed (✓) or failed (✗); a diagnosis ends with its first failed step. */
export interface DiagnosisStep {
  step: DiagnosisStepName;
  ok: boolean;
  /** Time the step took. */
  ms: number;
  /** What happened, in plain words (server replies quoted, never a password). */
  detail: string;
}

/** Why a diagnosis failed, stable for matching (the message and hint are for people). */
export type DiagnosisFailureCode =
  | 'DNS_FAILED'
  | 'CONNECTION_REFUSED'
  | 'CONNECTION_TIMEOUT'
  | 'CONNECTION_CLOSED'
  | 'TLS_MISMATCH'
  | 'CERTIFICATE_UNTRUSTED'
  | 'GREETING_TIMEOUT'
  | 'GREETING_REJECTED'
  | 'STARTTLS_UNAVAILABLE'
  | 'AUTH_UNAVAILABLE'
  | 'AUTH_FAILED'
  | 'SENDER_REJECTED'
  | 'RELAY_DENIED'
  | 'RECIPIENT_REJECTED'
  | 'DATA_REJECTED'
  /**
   * A tenant's host (from `transportResolver`) is not public, nor resolves to a public address, and
   * `tenantTransports.allowPrivateNetworks` does not list it: nothing was connected, and the diagnosis
   * has no steps, so it tells nothing about the address, the port or timing.
   */
  | 'TENANT_HOST_REFUSED'
  /** An app's own transport (`transport: { use }`): its `verify()` did not answer ok, or its test send failed. */
  | 'TRANSPORT_FAILED';

/** The failure that ended a diagnosis, and what to change. */
export interface DiagnosisFailure {
  code: DiagnosisFailureCode;
  /** The server's reply code, when the server refused something (e.g. 535). */
  responseCode?: number;
  /** The enhanced status code of that reply, when the server sent one (e.g. `5.7.1`). */
  enhancedCode?: string;
  /** What went wrong. */
  message: string;
  /** What to change. */
  hint: string;
}

/** Result of `diagnoseTransport()` / `sendTestEmail()`: each step with ✓/✗, and the failure with its fix. */
export interface TransportDiagnosis {
  ok: boolean;
  /** The transport, without its password. */
  transport: string;
  /** Empty when the failure is `TENANT_HOST_REFUSED`. */
  steps: DiagnosisStep[];
  failure?: DiagnosisFailure;
  /**
   * For a `transport` list: each transport's own diagnosis, in list order. `ok` is whether any can send;
   * `steps` and `failure` are those of the first that can (or, when none can, of the first).
   */
  members?: TransportDiagnosis[];
}

/**
 * What a diagnosis tries besides connecting and logging in: MAIL FROM alone (nothing is sent), or a
 * whole test email.
 */
export type DiagnosisRequest = {
  /** Envelope sender (bare address). */
  from: string;
  /** Who reads the hints: `api` (the default) names module options, `cli` the doctor's flags. */
  hints?: HintAudience;
} & (
  | { to?: undefined; message?: undefined }
  | {
      /** Recipient of the test email. */
      to: string;
      /** The whole message (headers and body) to send with DATA. */
      message: Buffer;
    }
);
