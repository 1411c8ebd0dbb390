export type { ConnectionRole, EmailRedisCluster, EmailRedisOptions, RedisClient, RedisTarget } from './redis.options';
export { describeTarget, hasHashTag, redisTargetOf } from './redis.options';
export { isCluster, RedisConnection } from './redis.connection';
export { checkRedis, safeError, setupErrorOf } from './redis.check';
export { endConnection } from './redis-connection.end';
