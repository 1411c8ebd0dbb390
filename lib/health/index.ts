export { EmailTransportHealthIndicator, EmailQueueHealthIndicator } from './email-health.indicators';
