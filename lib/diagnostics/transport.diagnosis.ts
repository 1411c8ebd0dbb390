import type { TransportCheck } from '../transport';
import type { DiagnosisStepName, TransportDiagnosis } from './diagnosis.types';

/**
 * The diagnosis of a transport that is not SMTP (an app's own): one step, `verify` (or `send` for a test
 * email), from what it answered. Its steps inside are its own business.
 */
export async function diagnoseByCheck(description: string, step: DiagnosisStepName, check: () => Promise<TransportCheck>): Promise<TransportDiagnosis> {
  const started = performance.now();
  const answer = await check().catch((error: unknown): TransportCheck => ({ ok: false, reason: error instanceof Error ? error.message : String(error) }));
  const ms = Math.round(performance.now() - started);
  const detail = answer.ok ? (step === 'verify' ? 'the transport can send' : 'the transport took the test email') : (answer.reason ?? 'the transport did not answer ok');
  const diagnosis: TransportDiagnosis = { ok: answer.ok, transport: description, steps: [{ step, ok: answer.ok, ms, detail }] };
  if (!answer.ok) {
    diagnosis.failure = {
      code: 'TRANSPORT_FAILED',
      message: detail,
      hint: step === 'verify' ? 'check the settings of this transport; its verify() said why it cannot send' : 'check the settings of this transport and the address',
    };
  }
  return diagnosis;
}

/** A list's diagnosis from its members' (see `TransportDiagnosis.members`). */
export function diagnoseList(description: string, members: TransportDiagnosis[]): TransportDiagnosis {
  const chosen = members.find((member) => member.ok) ?? members[0];
  return { ok: chosen.ok, transport: description, steps: chosen.steps, failure: chosen.failure, members };
}
