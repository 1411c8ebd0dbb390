export { EmailWorkflowService } from './email-workflow.service';
export type { EmailRecipient, SendEmailRequest, RenderEmailRequest, SendEmailResult } from './email-workflow.types';
