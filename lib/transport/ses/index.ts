export { SesTransport, SES_RESPONSE_PREFIX } from './ses.transport';
export type { SesAccountCheck } from './ses.transport';
export { resolveSesOptions, sesOptionsProblems, isSesOption } from './ses.options';
export type { SesTransportOptions, SesCredentials, SesTransportContext, ResolvedSesOptions } from './ses.options';
export { resolveSesTransport } from './ses.resolve';
export type { ResolvedSesTransport } from './ses.resolve';
export { classifySesFailure, sesFailureKind, sesErrorName, toSesDeliveryError } from './ses.failure';
export { diagnoseSesTransport } from './ses.diagnosis';
export type { SesDiagnosis } from './ses.diagnosis';
