import { EmailWorkflowErrorCode } from './error-codes';
import { EmailWorkflowError } from './email-workflow.errors';

/** What is wrong with the Redis set-up, as found at boot. */
export type RedisSetupProblem = 'tls-untrusted' | 'auth-failed' | 'no-permission' | 'mode-mismatch' | 'read-only';

const REDIS_SETUP_CODES: Record<RedisSetupProblem, EmailWorkflowErrorCode> = {
  'tls-untrusted': EmailWorkflowErrorCode.RedisTlsUntrusted,
  'auth-failed': EmailWorkflowErrorCode.RedisAuthFailed,
  'no-permission': EmailWorkflowErrorCode.RedisNoPermission,
  'mode-mismatch': EmailWorkflowErrorCode.RedisModeMismatch,
  'read-only': EmailWorkflowErrorCode.RedisReadOnly,
};

/**
 * Redis answered, but not as the library needs: its certificate is not trusted, the password or user
 * is refused, the user lacks a command, it is a cluster reached as one server (or the reverse), or it
 * is a read-only replica. Raised at boot, with what to change. Never carries a password: `cause` is the
 * client's error reduced to its name, code and message.
 */
export class RedisSetupError extends EmailWorkflowError {
  readonly code: EmailWorkflowErrorCode;

  constructor(
    readonly problem: RedisSetupProblem,
    message: string,
    cause?: { name: string; message: string; code?: string },
  ) {
    super(message);
    this.code = REDIS_SETUP_CODES[problem];
    if (cause !== undefined) Object.defineProperty(this, 'cause', { value: cause, enumerable: false, writable: true, configurable: true });
  }
}
