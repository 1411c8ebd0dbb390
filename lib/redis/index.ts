export type { ConnectionRole, EmailRedisCluster, EmailRedisOptions, RedisClient, RedisTarget } from './redis.options';
export { describeTarget, hasHashTag, redisTargetOf } from './redis.options';
export { isCluster, RedisConnection } from './redis.connection';
export { checkRedis, safeError, setupErrorOf } from './redis.check';
export { endConnection, releaseSentinels } from './redis-connection.end';
export { boundedRedisCall, withTimeout } from './bounded-call';
export { RedisOutageLog } from './redis-outage.log';
