export { diagnoseSmtp } from './smtp.doctor';
export type {
  DiagnosisRequest,
  DiagnosisStep,
  DiagnosisStepName,
  DiagnosisFailure,
  DiagnosisFailureCode,
  TransportDiagnosis,
} from './diagnosis.types';
