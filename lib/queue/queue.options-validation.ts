import { Allow, IsBoolean, IsIn, IsOptional, IsString } from 'class-validator';
import type { OptionsProblem } from '../errors';
import { dtoProblems, NestedOptions, rule, WholeNumber } from '../options/options.validator';
import { hasHashTag, redisTargetOf } from '../redis';

const COUNT = 'must be a whole number of 1 or more';
const MS = 'must be a number of milliseconds';

class RetryBackoffDto {
  @WholeNumber(1, MS, 'use e.g. 5000') delay?: number;
  @WholeNumber(1, MS, 'use e.g. 3600000') maxDelay?: number;
}

class QueueDto {
  @Allow() redis!: unknown;
  @IsOptional() @IsIn(['bull', 'bullmq'], rule('must be "bull" or "bullmq"', 'use "bullmq" and install bullmq, or leave it out for Bull')) driver?: string;
  @IsOptional() @IsString(rule('must be text', 'use e.g. "{email}" (a hash tag, for Redis Cluster)')) prefix?: string;
  @WholeNumber(1, COUNT, 'use e.g. 5') concurrency?: number;
  @WholeNumber(1, COUNT, 'use e.g. 8') attempts?: number;
  @NestedOptions(() => RetryBackoffDto) backoff?: RetryBackoffDto;
  @IsOptional() @Allow() removeOnComplete?: boolean | number;
  @IsOptional() @IsBoolean(rule('must be true or false', 'use false on API-only processes that should not send')) worker?: boolean;
  @IsOptional() @IsBoolean(rule('must be true or false', 'set true only if a queue dashboard must show who each email is for')) recipientInClear?: boolean;
  @WholeNumber(0, MS, 'use e.g. 10000') shutdownTimeout?: number;
  @WholeNumber(1, MS, 'use e.g. 30000') probeInterval?: number;
  @WholeNumber(1, MS, 'use e.g. 259200000 (3 days)') maxAge?: number;
  @WholeNumber(1, MS, 'use e.g. 5000') commandTimeout?: number;
  @IsOptional() @IsBoolean(rule('must be true or false', 'leave it out: on under Sentinel, off otherwise')) waitForReplica?: boolean;
  @IsOptional() @Allow() settings?: object;
}

/** Problems of the `queue` option, by path. */
export function queueOptionsProblems(queue: unknown): OptionsProblem[] {
  if (queue === undefined || queue === false) return [];
  if (typeof queue !== 'object' || queue === null) {
    return [{ path: 'queue', problem: 'must be false or an object', fix: 'use queue: { redis: "redis://127.0.0.1:6379" }' }];
  }
  const { redis, worker, prefix } = queue as { redis?: unknown; worker?: unknown; prefix?: unknown };
  // Checked apart from the rest: class-validator copies what it checks, and a client factory or
  // options holding a Cluster would not survive the copy.
  const problems = dtoProblems(QueueDto, { ...queue, redis: undefined }, 'queue');
  if (redis !== false) {
    const target = redisTargetOf(redis, 'queue.redis');
    if ('problem' in target) problems.push(target.problem);
    else if (target.value.kind === 'cluster' && typeof prefix === 'string' && !hasHashTag(prefix)) {
      problems.push({
        path: 'queue.prefix',
        problem: 'has no hash tag, but queue.redis is a Redis Cluster: the library\'s keys would land in different slots and its scripts would fail with CROSSSLOT',
        fix: `wrap it in braces, e.g. "{${prefix}}", or leave it out for "{bull}"`,
      });
    }
  }
  if (redis === false && worker === false) {
    problems.push({
      path: 'queue.worker',
      problem: 'is false, but an in-process queue has no other process to send its emails',
      fix: 'remove worker: false, or set queue.redis so dedicated workers can send',
    });
  }
  return problems;
}
