export { EmailWorkflowService } from './email-workflow.service';
export type {
  EmailRecipient,
  SendEmailRequest,
  RenderEmailRequest,
  SendEmailResult,
  TokenInspection,
} from './email-workflow.types';
export { EMAIL_USER_DIRECTORY } from './user-directory';
export type { EmailUser, EmailUserDirectory } from './user-directory';
export type { NewSignInDetails, NewSignInNoticeResult } from './new-sign-in.notice';
