/**
 * Every error code the library raises, in one table. Codes are stable: match on
 * `error.code`, never on the message text.
 */
export const EmailWorkflowErrorCode = {
  InvalidOptions: 'EMAIL_WORKFLOW_INVALID_OPTIONS',
  TemplateNotFound: 'EMAIL_WORKFLOW_TEMPLATE_NOT_FOUND',
  TemplateInvalid: 'EMAIL_WORKFLOW_TEMPLATE_INVALID',
  TemplateVariableMissing: 'EMAIL_WORKFLOW_TEMPLATE_VARIABLE_MISSING',
  InvalidRecipient: 'EMAIL_WORKFLOW_INVALID_RECIPIENT',
  DeliveryFailed: 'EMAIL_WORKFLOW_DELIVERY_FAILED',
  QueueUnavailable: 'EMAIL_WORKFLOW_QUEUE_UNAVAILABLE',
  RedisTlsUntrusted: 'EMAIL_WORKFLOW_REDIS_TLS_UNTRUSTED',
  RedisAuthFailed: 'EMAIL_WORKFLOW_REDIS_AUTH_FAILED',
  RedisNoPermission: 'EMAIL_WORKFLOW_REDIS_NO_PERMISSION',
  RedisModeMismatch: 'EMAIL_WORKFLOW_REDIS_MODE_MISMATCH',
  RedisReadOnly: 'EMAIL_WORKFLOW_REDIS_READ_ONLY',
  TokenUnknown: 'EMAIL_WORKFLOW_TOKEN_UNKNOWN',
  TokenExpired: 'EMAIL_WORKFLOW_TOKEN_EXPIRED',
  TokenUsed: 'EMAIL_WORKFLOW_TOKEN_USED',
  TokenWrongPurpose: 'EMAIL_WORKFLOW_TOKEN_WRONG_PURPOSE',
  CodeInvalid: 'EMAIL_WORKFLOW_CODE_INVALID',
  FlowNotConfigured: 'EMAIL_WORKFLOW_FLOW_NOT_CONFIGURED',
  RateLimited: 'EMAIL_WORKFLOW_RATE_LIMITED',
  UserDirectoryMissing: 'EMAIL_WORKFLOW_USER_DIRECTORY_MISSING',
  InvalidHeader: 'EMAIL_WORKFLOW_INVALID_HEADER',
  TestEmailCancelled: 'EMAIL_WORKFLOW_TEST_EMAIL_CANCELLED',
  DevInboxInProduction: 'EMAIL_WORKFLOW_DEV_INBOX_IN_PRODUCTION',
  DevInboxDependencyMissing: 'EMAIL_WORKFLOW_DEV_INBOX_DEPENDENCY_MISSING',
  DependencyMissing: 'EMAIL_WORKFLOW_DEPENDENCY_MISSING',
  EmailNotSent: 'EMAIL_WORKFLOW_EMAIL_NOT_SENT',
  CliUsage: 'EMAIL_WORKFLOW_CLI_USAGE',
  InvalidArgument: 'EMAIL_WORKFLOW_INVALID_ARGUMENT',
  InvalidContext: 'EMAIL_WORKFLOW_INVALID_CONTEXT',
  TenantHostRefused: 'EMAIL_WORKFLOW_TENANT_HOST_REFUSED',
} as const;

export type EmailWorkflowErrorCode =
  (typeof EmailWorkflowErrorCode)[keyof typeof EmailWorkflowErrorCode];
