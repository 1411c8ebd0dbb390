import Redis, { Cluster } from 'ioredis';
import { PlainListener, ThrowawayCluster, ThrowawaySentinel, ThrowawayTlsRedis } from '../support/redis-topologies';
import { until } from '../support/wait';

// The helpers that start real Redis topologies, proved with plain ioredis clients only (no library code).

/** The port of the server a client is connected to, as that server says (CLIENT INFO laddr). */
async function serverPortOf(client: Redis): Promise<number> {
  const info = String(await client.call('CLIENT', 'INFO'));
  return Number(/laddr=[^ ]*:(\d+)/.exec(info)?.[1]);
}

/** Settles with the first 'error' a client emits, e.g. why its connection failed. */
function firstError(client: Redis): Promise<Error> {
  return new Promise((resolve) => client.once('error', resolve));
}

describe('ThrowawayCluster: 3 masters with a replica each', () => {
  let cluster: ThrowawayCluster;
  let client: Cluster;
  const keys = Array.from({ length: 20 }, (_, i) => `{ewtopo}:key-${i}`);

  beforeAll(async () => {
    cluster = await ThrowawayCluster.start({ masters: 3, replicas: 1 });
    // disconnect() arms a timer (disconnectTimeout) on every node's connection that only its socket's 'close'
    // clears: the killed node's connection closed long before, so keep it short or it outlives the suite.
    client = new Cluster(cluster.nodes, { redisOptions: { disconnectTimeout: 10 } });
    client.on('error', () => undefined);
  }, 45_000);

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('forms: 6 nodes, 3 masters each with one replica, every slot served', async () => {
    expect(cluster.nodes).toHaveLength(6);
    const masters = await cluster.masters();
    expect(masters).toHaveLength(3);
    for (const master of masters) expect(await cluster.replicasOf(master.port)).toHaveLength(1);
    const slots = await cluster.slots();
    expect(slots.reduce((sum, range) => sum + range.to - range.from + 1, 0)).toBe(16384);

    for (const key of keys) await client.set(key, `value of ${key}`);
    const owner = await cluster.masterFor(keys[0]);
    const direct = new Redis(owner.port, owner.host);
    try {
      expect(await direct.get(keys[0])).toBe(`value of ${keys[0]}`);
    } finally {
      direct.disconnect();
    }
  });

  it('migrateSlot moves the slot with its keys; the cluster client follows', async () => {
    const slot = await cluster.slotOf(keys[0]);
    const from = await cluster.masterFor(keys[0]);
    const to = (await cluster.masters()).find((master) => master.port !== from.port)!;

    await cluster.migrateSlot(slot, to.port);

    expect(await cluster.masterFor(keys[0])).toEqual(to);
    const [onTarget, onSource] = [new Redis(to.port, to.host), new Redis(from.port, from.host)];
    try {
      expect(await onTarget.call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(keys.length);
      await expect(onSource.get(keys[0])).rejects.toThrow(new RegExp(`MOVED ${slot} 127.0.0.1:${to.port}`));
    } finally {
      onTarget.disconnect();
      onSource.disconnect();
    }
    expect(await client.mget(...keys)).toEqual(keys.map((key) => `value of ${key}`));
  });

  it('failover promotes the replica of the slot owner; the cluster client follows', async () => {
    const owner = await cluster.masterFor(keys[0]);
    const [replica] = await cluster.replicasOf(owner.port);

    await cluster.failover(replica.port);

    expect(await cluster.masterFor(keys[0])).toEqual(replica);
    expect(await cluster.replicasOf(replica.port)).toEqual([owner]);
    expect(await client.get(keys[0])).toBe(`value of ${keys[0]}`);
    await client.set(keys[1], 'written after the failover');
    expect(await client.get(keys[1])).toBe('written after the failover');
  });

  it('killMaster SIGKILLs the slot owner and resolves with the replica that took over', async () => {
    const owner = await cluster.masterFor(keys[0]);
    const [replica] = await cluster.replicasOf(owner.port);

    const promoted = await cluster.killMaster(owner.port);

    expect(promoted).toEqual(replica);
    expect(await cluster.masterFor(keys[0])).toEqual(replica);
    let last: unknown;
    await until(
      async () => {
        try {
          last = await client.get(keys[0]);
        } catch (error) {
          last = error;
        }
        return last === `value of ${keys[0]}`;
      },
      () => `the cluster client to read through the promoted replica (${String(last)})`,
    );
  });
});

describe('ThrowawaySentinel: master, replica and 3 sentinels, with a password', () => {
  const PASSWORD = 'sentinel-secret';
  let setup: ThrowawaySentinel;
  let client: Redis;

  beforeAll(async () => {
    setup = await ThrowawaySentinel.start({ password: PASSWORD });
    client = new Redis({ sentinels: setup.sentinels, name: setup.name, password: PASSWORD });
    client.on('error', () => undefined);
  }, 45_000);

  afterAll(async () => {
    client?.disconnect();
    await setup?.stop();
  });

  /** Resolves once the client writes and reads on the server at `port`, retrying while it reconnects. */
  async function untilClientOn(port: number, key: string): Promise<void> {
    let last: unknown;
    await until(
      async () => {
        try {
          await client.set(key, 'v');
          last = await serverPortOf(client);
        } catch (error) {
          last = error;
        }
        return last === port;
      },
      () => `the sentinel client to write on ${port} (${String(last)})`,
      20_000,
    );
  }

  it('gives the master to an ioredis { sentinels, name } client', async () => {
    const master = await setup.masterPort();
    expect(setup.servers.map((server) => server.port)).toContain(master);

    await client.set('ewtopo:before', 'kept');
    expect(await serverPortOf(client)).toBe(master);
    expect(await client.call('ROLE')).toEqual(expect.arrayContaining(['master']));
  });

  it('plannedFailover moves the master to the replica; once settled, the client writes there', async () => {
    const before = await setup.masterPort();

    const { from, to } = await setup.plannedFailover();

    expect(from).toBe(before);
    expect(to).not.toBe(before);
    expect(await setup.masterPort()).toBe(to);
    await setup.settled();
    await untilClientOn(to, 'ewtopo:after-planned');
    expect(await client.get('ewtopo:before')).toBe('kept');
  }, 45_000);

  it('killMaster SIGKILLs the master and resolves once the replica is promoted; restartOld brings it back as a replica', async () => {
    const before = await setup.masterPort();

    const { killed, promoted } = await setup.killMaster();

    expect(killed).toBe(before);
    expect(await setup.masterPort()).toBe(promoted);
    await untilClientOn(promoted, 'ewtopo:after-kill');
    expect(await client.get('ewtopo:before')).toBe('kept');

    await setup.restartOld();
    const old = new Redis(killed, '127.0.0.1', { password: PASSWORD });
    try {
      expect(await old.call('ROLE')).toEqual(expect.arrayContaining(['slave', promoted, 'connected']));
    } finally {
      old.disconnect();
    }
  }, 45_000);
});

describe('ThrowawayTlsRedis: TLS only, test CA, ACL users', () => {
  let server: ThrowawayTlsRedis;
  const clients: Redis[] = [];
  const open = (url: string, ca: string) => {
    const client = new Redis(url, {
      tls: { ca },
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 2_000,
      // Its INFO would fail for the user without INFO and without credentials: commands are what is tested.
      enableReadyCheck: false,
    });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await ThrowawayTlsRedis.start({
      users: [
        { name: 'app', password: 'app-secret' },
        { name: 'noinfo', password: 'noinfo-secret', rules: '~* &* +@all -info' },
      ],
    });
  }, 30_000);

  afterAll(async () => {
    // A client that already gave up has no connection left to close (disconnecting it would leave a 2 s timer).
    clients.filter((client) => client.status !== 'end').forEach((client) => client.disconnect());
    await server?.stop();
  });

  it('builds rediss:// URLs', () => {
    expect(server.url('app', 'app-secret')).toBe(`rediss://app:app-secret@127.0.0.1:${server.port}`);
    expect(server.url()).toBe(`rediss://127.0.0.1:${server.port}`);
  });

  it('connects over TLS trusting the test CA, as the ACL user', async () => {
    const client = open(server.url('app', 'app-secret'), server.caPem);
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    expect(await client.call('ACL', 'WHOAMI')).toBe('app');
    expect((client.stream as { encrypted?: boolean }).encrypted).toBe(true);
  });

  it('is refused by a client trusting only the unrelated CA', async () => {
    const client = open(server.url('app', 'app-secret'), server.untrustedCaPem);
    const failed = firstError(client);
    await expect(client.connect()).rejects.toThrow();
    expect((await failed).message).toMatch(/certificate/i);
  });

  it('answers NOPERM to INFO for the user without INFO, while other commands work', async () => {
    const client = open(server.url('noinfo', 'noinfo-secret'), server.caPem);
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    await expect(client.info()).rejects.toThrow(/NOPERM/);
  });

  it('keeps the default user off: no command without credentials', async () => {
    const client = open(server.url(), server.caPem);
    await client.connect();
    await expect(client.ping()).rejects.toThrow(/NOAUTH/);
  });
});

describe('PlainListener', () => {
  let listener: PlainListener;

  beforeEach(async () => {
    listener = await PlainListener.start();
  });

  afterEach(async () => {
    await listener.close();
  });

  it('records what a plaintext client sends: AUTH with the password', async () => {
    const client = new Redis(`redis://ada:plain-secret@127.0.0.1:${listener.port}`, {
      lazyConnect: true,
      retryStrategy: () => null,
      connectTimeout: 1_000,
      // Its unanswered AUTH fails on disconnect and ioredis disconnects once more, arming a timer (2 s by default)
      // on a socket already closed: keep that short so nothing outlives the test.
      disconnectTimeout: 10,
    });
    client.on('error', () => undefined);
    client.connect().catch(() => undefined);
    try {
      await until(() => listener.received().includes('plain-secret'), 'the AUTH command to arrive');
      expect(listener.received().toString('latin1')).toMatch(/auth[\s\S]*ada[\s\S]*plain-secret/i);
      expect(listener.connections).toBe(1);
    } finally {
      client.disconnect();
    }
  });

  it('sees only a TLS handshake from a rediss:// client: no AUTH, no password', async () => {
    const client = new Redis(`rediss://ada:tls-secret@127.0.0.1:${listener.port}`, {
      tls: {},
      lazyConnect: true,
      retryStrategy: () => null,
      connectTimeout: 500,
    });
    client.on('error', () => undefined);
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    client.connect().catch(() => undefined);
    // Once the client has given up (connect timeout, no retry), it can send nothing more.
    await ended;

    const received = listener.received();
    expect(received[0]).toBe(0x16); // a TLS handshake record: the ClientHello
    expect(received.includes('tls-secret')).toBe(false);
    expect(received.toString('latin1')).not.toMatch(/auth/i);
  });
});
