export { AccountFlowSupport } from './account-flow.support';
export { EmailChangeFlow } from './email-change.flow';
export { EmailVerificationFlow } from './verification.flow';
export { NewSignInNotice } from './new-sign-in.notice';
export type { NewSignInDetails, NewSignInNoticeResult } from './new-sign-in.notice';
export { PasswordResetFlow } from './password-reset.flow';
export { SignInFlow } from './sign-in.flow';
export { FLOW_SETTINGS, longestCodeTtl, resolveFlowOptions } from './flow.options';
export type { FlowModuleOptions, FlowOptions, FlowSettings, ProofMethod } from './flow.options';
