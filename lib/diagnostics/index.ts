export { diagnoseSmtp } from './smtp.doctor';
export { diagnoseByCheck, diagnoseList } from './transport.diagnosis';
export type {
  DiagnosisRequest,
  DiagnosisStep,
  DiagnosisStepName,
  DiagnosisFailure,
  DiagnosisFailureCode,
  TransportDiagnosis,
} from './diagnosis.types';
