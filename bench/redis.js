// Redis helpers the queue benchmarks share: whether Redis answers, and removing a run's keys afterwards.
'use strict';
const Redis = require('ioredis');

/** Whether Redis at `url` answers; prints why the benchmark named `name` is skipped if not. */
async function redisAnswers(url, name) {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await probe.connect();
    return true;
  } catch {
    console.log(`${name} benchmark skipped: no Redis at ${url}.`);
    return false;
  } finally {
    probe.disconnect();
  }
}

/** Deletes every key under each prefix, in batches (a long run leaves many thousands). */
async function deleteKeys(url, prefixes) {
  const redis = new Redis(url);
  try {
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      for (let i = 0; i < keys.length; i += 1_000) await redis.del(...keys.slice(i, i + 1_000));
    }
  } finally {
    redis.disconnect();
  }
}

module.exports = { redisAnswers, deleteKeys };
