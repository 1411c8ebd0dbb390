export { diagnoseSmtp } from './smtp.doctor';
export type { DiagnosisRequest } from './smtp.doctor';
export type {
  DiagnosisStep,
  DiagnosisStepName,
  DiagnosisFailure,
  DiagnosisFailureCode,
  TransportDiagnosis,
} from './diagnosis.types';
