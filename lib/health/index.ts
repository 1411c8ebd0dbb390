export { EmailTransportHealthIndicator, EmailQueueHealthIndicator, EmailBounceReaderHealthIndicator } from './email-health.indicators';
