import Redis, { RedisOptions } from 'ioredis';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';
import { ServerProcess } from './server-process';
import { makeTestCertificates, runCommand } from './test-certificates';
import type { TestCertificates } from './test-certificates';
import { until } from './wait';

/*
 * Real Redis topologies for tests: a Redis Cluster, a Sentinel set-up, a TLS-only Redis with ACL users, and a
 * plain TCP listener that records what a client sends. Every helper spawns its own processes on free loopback
 * ports, keeps its files in a temporary folder of its own, and is ended by `stop()` (every process killed by
 * pid, the folder removed). A server that cannot start makes `start()` reject with what it printed.
 */

const HOST = '127.0.0.1';
const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';
const CLUSTER_SLOTS = 16384;

export interface Endpoint {
  host: string;
  port: number;
}

const endpoint = (port: number): Endpoint => ({ host: HOST, port });

/** `count` distinct free loopback ports: all listened on at once, so none is handed out twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, HOST, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** A value for a redis.conf line, quoted the way redis.conf reads it (printable ASCII only). */
function confValue(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new Error(`only printable ASCII can go in a redis.conf value: ${JSON.stringify(value)}`);
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}


/** Admin connections, one per port, made again whenever the last one ended. Never retries a command itself. */
class AdminClients {
  private readonly clients = new Map<number, Redis>();

  constructor(private readonly optionsFor: (port: number) => RedisOptions = () => ({})) {}

  async call(port: number, command: string, ...args: Array<string | number>): Promise<unknown> {
    let client = this.clients.get(port);
    if (!client || client.status === 'end' || client.status === 'close') {
      if (client) close(client);
      client = new Redis({
        host: HOST,
        port,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        enableReadyCheck: false,
        connectTimeout: 2_000,
        commandTimeout: 5_000,
        ...this.optionsFor(port),
      });
      client.on('error', () => undefined);
      this.clients.set(port, client);
    }
    return client.call(command, ...args);
  }

  forget(port: number): void {
    const client = this.clients.get(port);
    if (client) close(client);
    this.clients.delete(port);
  }

  closeAll(): void {
    for (const client of this.clients.values()) close(client);
    this.clients.clear();
  }
}

/**
 * Disconnects a client unless it has ended already: ioredis's disconnect() arms a timer (disconnectTimeout, 2 s)
 * that only the socket's 'close' clears, so on an ended client it would keep the process alive for nothing.
 */
function close(client: Redis): void {
  if (client.status !== 'end') client.disconnect();
}

/** Waits until the process answers PING (a NOAUTH reply counts: it is up), failing at once if it exits. */
async function untilAnswers(proc: ServerProcess, port: number, admins: AdminClients, timeoutMs = 10_000): Promise<void> {
  let last = 'no answer yet';
  await proc.untilAnswers(
    async () => {
      try {
        return (await admins.call(port, 'PING')) === 'PONG';
      } catch (error) {
        last = (error as Error).message;
        if (/^NOAUTH/.test(last)) return true;
        admins.forget(port);
        return false;
      }
    },
    () => `${proc.label} to answer PING on ${port} (${last})`,
    timeoutMs,
  );
}

function parseInfo(text: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of String(text).split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields[line.slice(0, at)] = line.slice(at + 1).trim();
  }
  return fields;
}

/** A flat [field, value, field, value, …] reply (SENTINEL MASTER, SENTINEL REPLICAS entries) as an object. */
function pairs(reply: unknown): Record<string, string> {
  const flat = reply as unknown[];
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
  return fields;
}

type Role = { role: 'master' } | { role: 'slave'; masterPort: number; link: string } | { role: 'sentinel' };

function parseRole(reply: unknown): Role {
  const [role, , masterPort, link] = reply as unknown[];
  if (role === 'slave') return { role, masterPort: Number(masterPort), link: String(link) };
  return { role: role as 'master' | 'sentinel' };
}

// ---------------------------------------------------------------------------------------------------------
// Redis Cluster
// ---------------------------------------------------------------------------------------------------------

export interface SlotRange {
  from: number;
  to: number;
  /** Port of the master serving the range. */
  master: number;
  /** Ports of its replicas that are not flagged as failed. */
  replicas: number[];
}

function parseSlots(reply: unknown): SlotRange[] {
  return (reply as unknown[][])
    .map(([from, to, master, ...replicas]) => ({
      from: Number(from),
      to: Number(to),
      master: Number((master as unknown[])[1]),
      replicas: replicas.map((replica) => Number((replica as unknown[])[1])).sort((a, b) => a - b),
    }))
    .sort((a, b) => a.from - b.from);
}

function ownerIn(slots: SlotRange[], slot: number): number | undefined {
  return slots.find((range) => range.from <= slot && slot <= range.to)?.master;
}

interface ClusterNodeLine {
  id: string;
  port: number;
  flags: string[];
  masterId?: string;
}

function parseClusterNodes(reply: unknown): ClusterNodeLine[] {
  return String(reply)
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [id, address, flags, masterId] = line.split(' ');
      return {
        id,
        port: Number(address.split('@')[0].split(':').pop()),
        flags: flags.split(','),
        masterId: masterId === '-' ? undefined : masterId,
      };
    });
}

export interface ThrowawayClusterOptions {
  /** Masters to create the cluster with; redis-cli needs at least 3. Default 3. */
  masters?: number;
  /** Replicas per master. Default 0. */
  replicas?: 0 | 1;
  /** cluster-node-timeout: how long a node may be unreachable before it is failed over. Default 1500. */
  nodeTimeoutMs?: number;
  /** Extra redis-server arguments for every node. */
  args?: string[];
}

/**
 * A Redis Cluster of its own: `masters` × (1 + `replicas`) redis-server processes with `--cluster-enabled yes`,
 * announcing 127.0.0.1, joined by `redis-cli --cluster create`. `start()` resolves once every node reports
 * `cluster_state:ok` with all 16384 slots served, knows every node, agrees on who serves which slot, and every
 * replica's link to its master is up.
 */
export class ThrowawayCluster {
  /** Every node started, masters and replicas (roles change with failovers; see `masters()`). */
  readonly nodes: Endpoint[];
  private readonly procs = new Map<number, ServerProcess>();
  private readonly killed = new Set<number>();
  private readonly admins = new AdminClients();

  private constructor(
    private readonly dir: string,
    ports: number[],
  ) {
    this.nodes = ports.map(endpoint);
  }

  static async start({ masters = 3, replicas = 0, nodeTimeoutMs = 1_500, args = [] }: ThrowawayClusterOptions = {}): Promise<ThrowawayCluster> {
    if (masters < 3) throw new Error(`a Redis Cluster needs at least 3 masters (asked for ${masters})`);
    const dir = await mkdtemp(join(tmpdir(), 'ew-redis-cluster-'));
    const count = masters * (1 + replicas);
    // A data port and a cluster bus port for every node (the bus port is set, not left to port + 10000).
    const ports = await freePorts(count * 2);
    const cluster = new ThrowawayCluster(dir, ports.slice(0, count));
    const { procs } = cluster;
    try {
      for (let i = 0; i < count; i++) {
        const [port, busPort] = [ports[i], ports[count + i]];
        const nodeDir = join(dir, String(port));
        await mkdir(nodeDir);
        procs.set(
          port,
          new ServerProcess(`cluster node ${port}`, REDIS_SERVER, [
            '--port', String(port),
            '--bind', HOST,
            '--dir', nodeDir,
            '--save', '',
            '--appendonly', 'no',
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-port', String(busPort),
            '--cluster-announce-ip', HOST,
            '--cluster-node-timeout', String(nodeTimeoutMs),
            '--cluster-replica-validity-factor', '0',
            '--cluster-allow-replica-migration', 'no',
            // A replica's full sync starts at once instead of after the default 5 s wait for more replicas.
            '--repl-diskless-sync-delay', '0',
            // CLUSTER SLOTS lists a replica only once its replication offset is past 0: on an idle master that
            // takes the master's next replication PING (every 10 s by default).
            '--repl-ping-replica-period', '1',
            ...args,
          ]),
        );
      }
      await Promise.all([...procs].map(([port, proc]) => untilAnswers(proc, port, cluster.admins)));
      await runCommand(REDIS_CLI, [
        '--cluster', 'create',
        ...[...procs.keys()].map((port) => `${HOST}:${port}`),
        '--cluster-yes',
        ...(replicas ? ['--cluster-replicas', String(replicas)] : []),
      ]);
      await cluster.untilSettled(`a cluster of ${count} nodes to form`, () => true, 30_000);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** The slot a key hashes to (CLUSTER KEYSLOT). */
  async slotOf(key: string): Promise<number> {
    return Number(await this.call(this.anyLiving(), 'CLUSTER', 'KEYSLOT', key));
  }

  /** The master serving a key's slot, as the cluster (CLUSTER SLOTS) says now. */
  async masterFor(key: string): Promise<Endpoint> {
    const slot = await this.slotOf(key);
    const owner = ownerIn(await this.slots(), slot);
    if (owner === undefined) throw new Error(`no node serves slot ${slot} (key ${key})`);
    return endpoint(owner);
  }

  /** Who serves which slots (CLUSTER SLOTS of a living node). */
  async slots(): Promise<SlotRange[]> {
    return parseSlots(await this.call(this.anyLiving(), 'CLUSTER', 'SLOTS'));
  }

  /** The living masters serving slots. */
  async masters(): Promise<Endpoint[]> {
    const ports = new Set((await this.slots()).map((range) => range.master));
    return [...ports].sort((a, b) => a - b).map(endpoint);
  }

  /** The living replicas of a master, as that master sees them. */
  async replicasOf(masterPort: number): Promise<Endpoint[]> {
    const nodes = parseClusterNodes(await this.call(masterPort, 'CLUSTER', 'NODES'));
    const me = nodes.find((node) => node.flags.includes('myself'));
    return nodes
      .filter((node) => node.masterId === me?.id && !node.flags.includes('fail') && this.isLiving(node.port))
      .map((node) => endpoint(node.port));
  }

  /**
   * Moves one slot and its keys to the master on `toPort` the way `redis-cli --cluster reshard` does (SETSLOT
   * IMPORTING/MIGRATING, MIGRATE of every key, SETSLOT NODE on every master), then waits until every node says
   * `toPort` serves it.
   */
  async migrateSlot(slot: number, toPort: number): Promise<void> {
    if (!Number.isInteger(slot) || slot < 0 || slot >= CLUSTER_SLOTS) throw new Error(`no such slot: ${slot}`);
    const fromPort = ownerIn(await this.slots(), slot);
    if (fromPort === undefined) throw new Error(`no node serves slot ${slot}`);
    if (fromPort === toPort) return;
    if (parseRole(await this.call(toPort, 'ROLE')).role !== 'master') throw new Error(`${toPort} is not a master: a slot can only move to a master`);
    const [fromId, toId] = [String(await this.call(fromPort, 'CLUSTER', 'MYID')), String(await this.call(toPort, 'CLUSTER', 'MYID'))];
    await this.call(toPort, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
    await this.call(fromPort, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
    for (;;) {
      const keys = (await this.call(fromPort, 'CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
      if (keys.length === 0) break;
      await this.call(fromPort, 'MIGRATE', HOST, toPort, '', 0, 10_000, 'REPLACE', 'KEYS', ...keys);
    }
    await this.call(toPort, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId);
    await this.call(fromPort, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId);
    for (const master of await this.masters()) {
      if (master.port !== toPort && master.port !== fromPort) await this.call(master.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', toId);
    }
    await this.untilSettled(`slot ${slot} to move from ${fromPort} to ${toPort}`, (slots) => ownerIn(slots, slot) === toPort);
  }

  /**
   * A manual failover (CLUSTER FAILOVER on the replica): resolves once the replica serves its master's slots on
   * every node's view, the old master is its replica with the link up, and the cluster is ok.
   */
  async failover(replicaPort: number): Promise<void> {
    const role = parseRole(await this.call(replicaPort, 'ROLE'));
    if (role.role !== 'slave') throw new Error(`${replicaPort} is not a replica (ROLE ${role.role})`);
    const oldMaster = role.masterPort;
    const ranges = (await this.slots()).filter((range) => range.master === oldMaster);
    await this.call(replicaPort, 'CLUSTER', 'FAILOVER');
    await this.untilSettled(`replica ${replicaPort} to take over from ${oldMaster}`, async (slots) => {
      if (!ranges.every((range) => ownerIn(slots, range.from) === replicaPort)) return false;
      const demoted = parseRole(await this.call(oldMaster, 'ROLE'));
      return demoted.role === 'slave' && demoted.masterPort === replicaPort;
    });
  }

  /**
   * SIGKILLs a master that has a replica and resolves with the replica that took over, once every living node
   * says it serves the dead master's slots and the cluster is ok again.
   */
  async killMaster(port: number): Promise<Endpoint> {
    const proc = this.procs.get(port);
    if (!proc || !this.isLiving(port)) throw new Error(`${port} is not a running node of this cluster`);
    if (parseRole(await this.call(port, 'ROLE')).role !== 'master') throw new Error(`${port} is not a master`);
    const replicas = (await this.replicasOf(port)).map((node) => node.port);
    if (replicas.length === 0) throw new Error(`master ${port} has no replica to take over (start the cluster with replicas: 1)`);
    const ranges = (await this.slots()).filter((range) => range.master === port);
    if (ranges.length === 0) throw new Error(`master ${port} serves no slots`);
    this.killed.add(port);
    this.admins.forget(port);
    await proc.kill();
    let promoted = 0;
    await this.untilSettled(
      `a replica of ${port} (${replicas.join(', ')}) to take over its slots`,
      (slots) => {
        const owners = new Set(ranges.map((range) => ownerIn(slots, range.from)));
        const [owner] = owners;
        if (owners.size !== 1 || owner === undefined || !replicas.includes(owner)) return false;
        promoted = owner;
        return true;
      },
      30_000,
    );
    return endpoint(promoted);
  }

  /** Kills every node (SIGKILL by pid) and removes the folder. */
  async stop(): Promise<void> {
    this.admins.closeAll();
    await Promise.all([...this.procs.values()].map((proc) => proc.kill()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private call(port: number, command: string, ...args: Array<string | number>): Promise<unknown> {
    return this.admins.call(port, command, ...args);
  }

  private isLiving(port: number): boolean {
    return !this.killed.has(port) && this.procs.get(port)?.running === true;
  }

  private livingPorts(): number[] {
    return [...this.procs.keys()].filter((port) => this.isLiving(port));
  }

  private anyLiving(): number {
    const [port] = this.livingPorts();
    if (port === undefined) throw new Error('no node of the cluster is running');
    return port;
  }

  /**
   * Waits until every living node reports cluster_state:ok with all slots served and every node known, every
   * replica's link is up, all nodes agree on the master of every slot range, and `accept` holds for that map.
   */
  private async untilSettled(what: string, accept: (slots: SlotRange[]) => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    let state = 'not asked yet';
    await until(
      async () => {
        for (const [port, proc] of this.procs) {
          if (!this.killed.has(port) && !proc.running) throw new Error(proc.describeExit());
        }
        try {
          let agreed: SlotRange[] | undefined;
          const roles = new Map<number, Role>();
          for (const port of this.livingPorts()) {
            const info = parseInfo(await this.call(port, 'CLUSTER', 'INFO'));
            if (info.cluster_state !== 'ok' || Number(info.cluster_slots_ok) !== CLUSTER_SLOTS || Number(info.cluster_known_nodes) !== this.procs.size) {
              state = `node ${port}: cluster_state ${info.cluster_state}, slots ok ${info.cluster_slots_ok}, known nodes ${info.cluster_known_nodes}`;
              return false;
            }
            const role = parseRole(await this.call(port, 'ROLE'));
            if (role.role === 'slave' && role.link !== 'connected') {
              state = `replica ${port}: link to ${role.masterPort} is ${role.link}`;
              return false;
            }
            roles.set(port, role);
            const slots = parseSlots(await this.call(port, 'CLUSTER', 'SLOTS'));
            if (agreed && JSON.stringify(agreed) !== JSON.stringify(slots)) {
              state = `nodes disagree on slots: ${JSON.stringify(agreed)} vs ${port}: ${JSON.stringify(slots)}`;
              return false;
            }
            agreed = slots;
          }
          // The map agreed on must match what the nodes say of themselves: masters are masters, and every replica
          // is listed with the master it replicates (and no dead node is listed at all).
          for (const range of agreed ?? []) {
            const replicasNow = [...roles].filter(([, role]) => role.role === 'slave' && role.masterPort === range.master).map(([port]) => port);
            if (roles.get(range.master)?.role !== 'master' || JSON.stringify(range.replicas) !== JSON.stringify(replicasNow.sort((a, b) => a - b))) {
              state = `slots ${range.from}-${range.to} listed with master ${range.master} and replicas ${range.replicas}, but its replicas are ${replicasNow}`;
              return false;
            }
          }
          if (!agreed || !(await accept(agreed))) {
            state = `slots: ${JSON.stringify(agreed?.map(({ from, to, master, replicas }) => [from, to, master, replicas]))}`;
            return false;
          }
          return true;
        } catch (error) {
          state = (error as Error).message;
          return false;
        }
      },
      () => `${what} (${state})`,
      timeoutMs,
      50,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Sentinel
// ---------------------------------------------------------------------------------------------------------

export interface ThrowawaySentinelOptions {
  /** The monitored master's name. Default 'ewmaster'. */
  name?: string;
  /** requirepass and masterauth on both servers, and `sentinel auth-pass` (the sentinels themselves have none). */
  password?: string;
  /** sentinel down-after-milliseconds. Default 1000. */
  downAfterMs?: number;
  /** sentinel failover-timeout. Default 5000. */
  failoverTimeoutMs?: number;
}

/**
 * A master, one replica (`replicaof`) and 3 sentinels (quorum 2) of its own. `start()` resolves once the
 * replica is in sync and every sentinel reports the master, knows the 2 other sentinels and the replica.
 */
export class ThrowawaySentinel {
  readonly sentinels: Endpoint[];
  /** The two Redis servers (master and replica; which is which changes with failovers: see `masterPort()`). */
  readonly servers: Endpoint[];
  private readonly procs = new Map<number, ServerProcess>();
  private readonly admins: AdminClients;
  private killedPort?: number;

  private constructor(
    private readonly dir: string,
    readonly name: string,
    readonly password: string | undefined,
    private readonly serverPorts: number[],
    private readonly sentinelPorts: number[],
  ) {
    this.sentinels = sentinelPorts.map(endpoint);
    this.servers = serverPorts.map(endpoint);
    this.admins = new AdminClients((port) => (serverPorts.includes(port) && password ? { password } : {}));
  }

  static async start({ name = 'ewmaster', password, downAfterMs = 1_000, failoverTimeoutMs = 5_000 }: ThrowawaySentinelOptions = {}): Promise<ThrowawaySentinel> {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`a master name of letters, digits, '.', '_' and '-' only: ${name}`);
    if (password !== undefined) confValue(password);
    const dir = await mkdtemp(join(tmpdir(), 'ew-redis-sentinel-'));
    const [master, replica, ...sentinelPorts] = await freePorts(5);
    const setup = new ThrowawaySentinel(dir, name, password, [master, replica], sentinelPorts);
    try {
      await setup.startServer(master);
      await setup.startServer(replica, master);
      await until(
        async () => {
          const role = parseRole(await setup.admins.call(replica, 'ROLE'));
          return role.role === 'slave' && role.link === 'connected';
        },
        `replica ${replica} to sync with master ${master}`,
      );
      for (const port of sentinelPorts) {
        const confFile = join(dir, `sentinel-${port}.conf`);
        const sentinelDir = join(dir, `sentinel-${port}`);
        await mkdir(sentinelDir);
        await writeFile(
          confFile,
          [
            `port ${port}`,
            `bind ${HOST}`,
            `dir ${confValue(sentinelDir)}`,
            `sentinel monitor ${name} ${HOST} ${master} 2`,
            `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
            `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
            `sentinel parallel-syncs ${name} 1`,
            ...(password ? [`sentinel auth-pass ${name} ${confValue(password)}`] : []),
            '',
          ].join('\n'),
        );
        const proc = new ServerProcess(`sentinel ${port}`, REDIS_SERVER, [confFile, '--sentinel']);
        setup.procs.set(port, proc);
        await untilAnswers(proc, port, setup.admins);
      }
      await setup.settled();
      return setup;
    } catch (error) {
      await setup.stop();
      throw error;
    }
  }

  /** The master's port, as the first sentinel reports it (SENTINEL GET-MASTER-ADDR-BY-NAME). */
  async masterPort(): Promise<number> {
    return this.masterPortBy(this.sentinelPorts[0]);
  }

  /**
   * Connections the sentinels hold for clients other than the sentinels themselves and this helper's own
   * admin connection (CLIENT LIST on each: sentinels name their links to each other `sentinel-…`).
   */
  async clientConnections(): Promise<string[]> {
    const connections: string[] = [];
    for (const port of this.sentinelPorts) {
      const lines = String(await this.admins.call(port, 'CLIENT', 'LIST')).split('\n').filter(Boolean);
      connections.push(...lines.filter((line) => !/ name=sentinel-/.test(line) && !/ cmd=client\|list /.test(line)).map((line) => `sentinel ${port}: ${line}`));
    }
    return connections;
  }

  /**
   * Waits until the topology is at rest: one master, every other running server its replica with the link up
   * (as the servers say: ROLE), and every sentinel reporting that master (flags just "master"), 2 other
   * sentinels and those replicas (flags just "slave": reachable, not down). After a planned failover this takes
   * about 10 s: that long the sentinels leave the demoted master a master before they reconfigure it (and kill
   * its clients). The replication details a sentinel shows (SENTINEL REPLICAS master-link-status, master-port)
   * come from an INFO it repeats only every 10 s, so they may lag behind and are not waited for.
   */
  async settled(timeoutMs = 30_000): Promise<void> {
    let state = 'not asked yet';
    await until(
      async () => {
        this.throwIfExited();
        try {
          const master = await this.masterPort();
          const replicas = this.serverPorts.filter((port) => port !== master && this.isRunning(port));
          const masterRole = parseRole(await this.admins.call(master, 'ROLE'));
          if (masterRole.role !== 'master') return !(state = `${master} (master for the sentinels) says ROLE ${masterRole.role}`);
          for (const port of replicas) {
            const role = parseRole(await this.admins.call(port, 'ROLE'));
            if (role.role !== 'slave' || role.masterPort !== master || role.link !== 'connected') {
              return !(state = `${port} is not yet a replica of ${master} in sync (${JSON.stringify(role)})`);
            }
          }
          for (const sentinel of this.sentinelPorts) {
            if ((await this.masterPortBy(sentinel)) !== master) return !(state = `sentinel ${sentinel} reports another master than ${master}`);
            const fields = pairs(await this.admins.call(sentinel, 'SENTINEL', 'MASTER', this.name));
            if (fields.flags !== 'master' || fields['num-other-sentinels'] !== '2') {
              return !(state = `sentinel ${sentinel}: master flags ${fields.flags}, other sentinels ${fields['num-other-sentinels']}`);
            }
            const known = ((await this.admins.call(sentinel, 'SENTINEL', 'REPLICAS', this.name)) as unknown[]).map(pairs);
            for (const port of replicas) {
              const entry = known.find((fields) => Number(fields.port) === port);
              if (entry?.flags !== 'slave') return !(state = `sentinel ${sentinel} lists replica ${port} with flags ${entry?.flags}`);
            }
          }
          return true;
        } catch (error) {
          state = (error as Error).message;
          return false;
        }
      },
      () => `the sentinel set-up to settle (${state})`,
      timeoutMs,
      50,
    );
  }

  /**
   * A planned failover (`SENTINEL FAILOVER <name>`, as managed services do for maintenance), from a settled
   * set-up. Resolves once every sentinel reports the other server as master and it answers ROLE master; the
   * old master is then still a master for a while (call `settled()` to wait until it is demoted).
   */
  async plannedFailover(): Promise<{ from: number; to: number }> {
    await this.settled();
    const from = await this.masterPort();
    const to = this.otherServer(from);
    let refusal = '';
    await until(
      async () => {
        try {
          return (await this.admins.call(this.sentinelPorts[0], 'SENTINEL', 'FAILOVER', this.name)) === 'OK';
        } catch (error) {
          // NOGOODSLAVE / INPROG until the sentinel's view of the replica is fresh: ask again.
          refusal = (error as Error).message;
          if (!/NOGOODSLAVE|INPROG/.test(refusal)) throw error;
          return false;
        }
      },
      () => `sentinel ${this.sentinelPorts[0]} to accept SENTINEL FAILOVER (${refusal})`,
    );
    await this.untilPromoted(to, `the planned failover from ${from} to ${to}`);
    return { from, to };
  }

  /**
   * SIGKILLs the current master (after waiting for a settled set-up, so a replica is in sync) and resolves once
   * every sentinel reports the replica as master and it answers ROLE master. `restartOld()` brings the killed
   * server back, as a replica.
   */
  async killMaster(): Promise<{ killed: number; promoted: number }> {
    await this.settled();
    const killed = await this.masterPort();
    const promoted = this.otherServer(killed);
    this.killedPort = killed;
    this.admins.forget(killed);
    await this.procs.get(killed)!.kill();
    await this.untilPromoted(promoted, `the sentinels to promote ${promoted} after master ${killed} was killed`, 30_000);
    return { killed, promoted };
  }

  /** Starts the server `killMaster()` killed again on its port, as a replica of the current master, and waits until the set-up settles. */
  async restartOld(): Promise<void> {
    const port = this.killedPort;
    if (port === undefined) throw new Error('no server was killed');
    await this.startServer(port, await this.masterPort());
    this.killedPort = undefined;
    await this.settled();
  }

  /** Kills every server and sentinel (SIGKILL by pid) and removes the folder. */
  async stop(): Promise<void> {
    this.admins.closeAll();
    await Promise.all([...this.procs.values()].map((proc) => proc.kill()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private async startServer(port: number, replicaOf?: number): Promise<void> {
    const serverDir = join(this.dir, `server-${port}`);
    await mkdir(serverDir, { recursive: true });
    const proc = new ServerProcess(`redis-server ${port}`, REDIS_SERVER, [
      '--port', String(port),
      '--bind', HOST,
      '--dir', serverDir,
      '--save', '',
      '--appendonly', 'no',
      '--replica-announce-ip', HOST,
      // A replica's full sync starts at once instead of after the default 5 s wait for more replicas.
      '--repl-diskless-sync-delay', '0',
      ...(this.password ? ['--requirepass', this.password, '--masterauth', this.password] : []),
      ...(replicaOf ? ['--replicaof', HOST, String(replicaOf)] : []),
    ]);
    this.procs.set(port, proc);
    this.admins.forget(port);
    await untilAnswers(proc, port, this.admins);
  }

  private async masterPortBy(sentinel: number): Promise<number> {
    const reply = (await this.admins.call(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name)) as string[] | null;
    if (!reply) throw new Error(`sentinel ${sentinel} does not know master ${this.name}`);
    return Number(reply[1]);
  }

  private async untilPromoted(port: number, what: string, timeoutMs = 20_000): Promise<void> {
    let state = 'not asked yet';
    await until(
      async () => {
        this.throwIfExited();
        try {
          for (const sentinel of this.sentinelPorts) {
            const reported = await this.masterPortBy(sentinel);
            if (reported !== port) return !(state = `sentinel ${sentinel} reports ${reported}`);
          }
          const role = parseRole(await this.admins.call(port, 'ROLE'));
          return role.role === 'master' || !(state = `${port} says ROLE ${role.role}`);
        } catch (error) {
          state = (error as Error).message;
          return false;
        }
      },
      () => `${what} (${state})`,
      timeoutMs,
      50,
    );
  }

  private otherServer(port: number): number {
    const other = this.serverPorts.find((candidate) => candidate !== port);
    if (other === undefined || !this.isRunning(other)) throw new Error(`no running server besides ${port}`);
    return other;
  }

  private isRunning(port: number): boolean {
    return port !== this.killedPort && this.procs.get(port)?.running === true;
  }

  private throwIfExited(): void {
    for (const [port, proc] of this.procs) {
      if (port !== this.killedPort && !proc.running) throw new Error(proc.describeExit());
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// TLS and ACL users
// ---------------------------------------------------------------------------------------------------------

export interface RedisAclUser {
  name: string;
  password: string;
  /** ACL rules after `on >password`. Default `~* &* +@all`. */
  rules?: string;
}

export interface ThrowawayTlsRedisOptions {
  /** Written as `user <name> on >password <rules>`. */
  users?: RedisAclUser[];
  /** The `default` user's password; without one the default user is off (`user default off`). */
  defaultPassword?: string;
  /** Extra redis.conf lines. */
  config?: string[];
}

/**
 * A redis-server that speaks TLS only (`port 0`, `tls-port`), with a certificate for 127.0.0.1/localhost from a
 * test CA made at start, ACL users, and the `default` user off unless given a password.
 */
export class ThrowawayTlsRedis {
  private readonly admins: AdminClients;

  private constructor(
    private readonly dir: string,
    private readonly proc: ServerProcess,
    readonly port: number,
    private readonly certificates: TestCertificates,
  ) {
    this.admins = new AdminClients(() => ({ tls: { ca: certificates.ca } }));
  }

  static async start({ users = [], defaultPassword, config = [] }: ThrowawayTlsRedisOptions = {}): Promise<ThrowawayTlsRedis> {
    const dir = await mkdtemp(join(tmpdir(), 'ew-redis-tls-'));
    let server: ThrowawayTlsRedis | undefined;
    try {
      const certificates = await makeTestCertificates(dir);
      const port = await freePort();
      const confFile = join(dir, 'redis.conf');
      const user = ({ name, password, rules = '~* &* +@all' }: RedisAclUser) => {
        if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`an ACL user name of letters, digits, '.', '_' and '-' only: ${name}`);
        return `user ${name} on ${confValue(`>${password}`)} ${rules}`;
      };
      await writeFile(
        confFile,
        [
          'port 0',
          `tls-port ${port}`,
          `bind ${HOST}`,
          `tls-cert-file ${confValue(certificates.certFile)}`,
          `tls-key-file ${confValue(certificates.keyFile)}`,
          `tls-ca-cert-file ${confValue(certificates.caFile)}`,
          'tls-auth-clients no',
          `dir ${confValue(dir)}`,
          'save ""',
          'appendonly no',
          defaultPassword === undefined ? 'user default off' : user({ name: 'default', password: defaultPassword }),
          ...users.map(user),
          ...config,
          '',
        ].join('\n'),
      );
      server = new ThrowawayTlsRedis(dir, new ServerProcess(`TLS redis-server ${port}`, REDIS_SERVER, [confFile]), port, certificates);
      await untilAnswers(server.proc, port, server.admins);
      return server;
    } catch (error) {
      if (server) await server.stop();
      else await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The CA that signed the server's certificate (PEM): trust it as `tls: { ca }`. */
  get caPem(): string {
    return this.certificates.ca;
  }

  /** A CA that signed nothing here: a client trusting only it must refuse the server. */
  get untrustedCaPem(): string {
    return this.certificates.untrustedCa;
  }

  /** `rediss://user:password@127.0.0.1:port` (both parts URL-encoded; either may be left out). */
  url(user?: string, password?: string): string {
    const credentials = user || password ? `${encodeURIComponent(user ?? '')}${password !== undefined ? `:${encodeURIComponent(password)}` : ''}@` : '';
    return `rediss://${credentials}${HOST}:${this.port}`;
  }

  /** Kills the server (SIGKILL by pid) and removes the folder with its keys and certificates. */
  async stop(): Promise<void> {
    this.admins.closeAll();
    await this.proc.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Plain listener
// ---------------------------------------------------------------------------------------------------------

/**
 * A plain TCP server on a free loopback port that answers nothing and records every byte it receives: point a
 * client that should speak TLS at it and assert no AUTH or password crossed in plaintext.
 */
export class PlainListener {
  private readonly chunks: Buffer[] = [];
  private readonly sockets = new Set<Socket>();
  /** Connections accepted so far. */
  connections = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<PlainListener> {
    let listener: PlainListener | undefined;
    const server = createServer((socket) => {
      listener!.connections++;
      listener!.sockets.add(socket);
      socket.on('data', (chunk: Buffer) => listener!.chunks.push(chunk));
      socket.on('error', () => undefined);
      socket.on('close', () => listener!.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, HOST, () => resolve());
    });
    listener = new PlainListener(server, (server.address() as AddressInfo).port);
    return listener;
  }

  /** Every byte received on every connection, in arrival order. */
  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Drops every connection and stops listening. */
  async close(): Promise<void> {
    this.sockets.forEach((socket) => socket.destroy());
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
