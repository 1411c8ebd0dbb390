import { EmailWorkflowError, EmailWorkflowErrorCode } from '../errors';

/** The command line is wrong or incomplete; the CLI prints the message with its usage and exits 2. */
export class CliUsageError extends EmailWorkflowError {
  readonly code = EmailWorkflowErrorCode.CliUsage;
}
