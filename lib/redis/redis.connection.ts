import type { Cluster, RedisOptions } from 'ioredis';
import { endConnection } from './redis-connection.end';
import { describeTarget } from './redis.options';
import type { ConnectionRole, RedisClient, RedisTarget } from './redis.options';

/** Bull and BullMQ refuse a subscriber or blocking connection that retries commands or checks readiness. */
const WAITING_ROLE: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: false };

/**
 * disconnect() ends the socket and arms a timer (disconnectTimeout, 2 s by default) that destroys it unless its
 * next 'close' clears it; called once the socket has closed already (Bull and BullMQ disconnect after QUIT, and a
 * reconnecting client has no live socket), nothing clears it, and it keeps the app's process up after close.
 * Nothing here needs that grace: endConnection destroys the socket right away, and Bull and BullMQ disconnect
 * only after QUIT or when forced. The app's own disconnectTimeout, if given, still wins.
 */
const ENDING: RedisOptions = { disconnectTimeout: 0 };

/**
 * A Sentinel failover or a cluster failover leaves a client on a node that became a replica: its
 * writes answer READONLY. Reconnecting (to the master the sentinels or the slot map now name) and
 * resending the command is what every client should do, rather than retrying on the old node.
 */
function reconnectOnReadOnly(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

/**
 * The one owner of the library's Redis connections: it knows the kind (one server, Sentinel, Cluster,
 * or the app's own clients), opens each connection the queue drivers and stores need, and keeps every
 * one it opened, so diagnostics and shutdown see them all.
 */
export class RedisConnection {
  private readonly opened: RedisClient[] = [];
  private readonly errorListeners: Array<(error: Error) => void> = [];
  private shared?: RedisClient;
  private ended = false;

  constructor(readonly target: RedisTarget) {}

  /** The one connection for ordinary commands, shared by the queue's producer side and the stores. */
  commands(): RedisClient {
    this.shared ??= this.open('commands');
    return this.shared;
  }

  /** Ends every connection opened here (see endConnection); `quit` lets a ready one finish first. */
  async end(quit = false): Promise<void> {
    this.ended = true;
    await Promise.all(this.opened.map((client) => endConnection(client, quit)));
  }

  /** Where Redis is, for logs: hosts, ports and master name, never a password. */
  get where(): string {
    return describeTarget(this.target);
  }

  /** A new client for `role`, tracked here; errors go to the listeners of `onError`. */
  open(role: ConnectionRole): RedisClient {
    const client = this.create(role);
    this.opened.push(client);
    client.on('error', (error: Error) => this.errorListeners.forEach((listener) => listener(error)));
    return client;
  }

  /** Every error of every client opened, before or after this call. */
  onError(listener: (error: Error) => void): void {
    this.errorListeners.push(listener);
  }

  clients(): readonly RedisClient[] {
    return this.opened;
  }

  private create(role: ConnectionRole): RedisClient {
    const { target } = this;
    // Once ended, a library that asks for one more connection while it winds down (Bull re-opens its
    // blocking one on close) gets one that never connects, so nothing keeps retrying behind the app's back.
    const roleOptions: RedisOptions = { ...(role === 'commands' ? {} : WAITING_ROLE), reconnectOnError: reconnectOnReadOnly, ...(this.ended ? { lazyConnect: true } : {}) };
    if (target.kind === 'custom') return target.create(role);
    // Loaded here, when a connection is first opened: apps on the in-process queue never load ioredis.
    const { Cluster, Redis } = require('ioredis') as typeof import('ioredis');
    if (target.kind === 'cluster') {
      return new Cluster(target.nodes, { ...target.options, redisOptions: { ...ENDING, ...target.options.redisOptions, ...roleOptions } });
    }
    return new Redis({ ...ENDING, ...target.options, ...roleOptions });
  }
}

/** Whether a client is a Redis Cluster client. */
export function isCluster(client: RedisClient): client is Cluster {
  return (client as Cluster).isCluster === true;
}
