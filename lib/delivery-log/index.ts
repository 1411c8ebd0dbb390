export { EmailDeliveryLog, redactReply, queueIdOf } from './email-delivery-log';
export type { DeliveryHead } from './email-delivery-log';
export { DeliveryLogFeed } from './delivery-log.feed';
export { MemoryDeliveryLogStore } from './memory-delivery-log.store';
export { RedisDeliveryLogStore } from './redis-delivery-log.store';
export { DELIVERY_LOG_SETTINGS, resolveDeliveryLogOptions } from './delivery-log.options';
export type { DeliveryLogOptions, DeliveryLogModuleOptions, DeliveryLogSettings } from './delivery-log.options';
export type { DeliveryEventType, DeliveryLogQuery, DeliveryLogStore, DeliveryRecord, DeliveryStep } from './delivery-log.types';
