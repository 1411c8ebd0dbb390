import { createSocket, Socket as UdpSocket } from 'node:dgram';
import { channel } from 'node:diagnostics_channel';
import { Resolver } from 'node:dns/promises';
import { AddressInfo, createServer, Server, Socket } from 'node:net';

/**
 * A plain TCP listener that only counts the connections it accepts (and closes them). Put on the
 * address a refused tenant host points at, it proves nothing ever connected.
 */
export class CountingListener {
  accepted = 0;
  private constructor(private readonly server: Server) {}

  static async start(host: string, port = 0): Promise<CountingListener> {
    const server = createServer();
    const listener = new CountingListener(server);
    server.on('connection', (socket) => {
      listener.accepted++;
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return listener;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Every TCP client socket this process opens while recording, with the address it connected to:
 * Node's own `net.client.socket` diagnostics channel, so what is seen is what the library really did.
 */
export class ClientSockets {
  readonly opened: Socket[] = [];
  readonly connectedTo: string[] = [];
  private readonly onSocket = (message: unknown) => {
    const { socket } = message as { socket: Socket };
    this.opened.push(socket);
    socket.once('connect', () => this.connectedTo.push(`${socket.remoteAddress}:${socket.remotePort}`));
  };

  start(): this {
    channel('net.client.socket').subscribe(this.onSocket);
    return this;
  }

  stop(): void {
    channel('net.client.socket').unsubscribe(this.onSocket);
  }
}

/** The question of a DNS query: the name and where the question section ends. */
function questionOf(query: Buffer): { name: string; end: number; type: number } {
  const labels: string[] = [];
  let offset = 12;
  while (query[offset] !== 0) {
    const length = query[offset];
    labels.push(query.subarray(offset + 1, offset + 1 + length).toString('ascii'));
    offset += 1 + length;
  }
  return { name: labels.join('.').toLowerCase(), end: offset + 5, type: query.readUInt16BE(offset + 1) };
}

/**
 * A real DNS server on UDP loopback that answers A queries for one name from a list of answers (an
 * address, or several A records), in turn: the first query gets the first, the second the second…
 * The rebinding attack in one process.
 */
export class RebindingDnsServer {
  readonly queries: string[] = [];
  private constructor(
    private readonly socket: UdpSocket,
    private readonly name: string,
    private readonly answers: Array<string | string[]>,
  ) {}

  static async start(name: string, answers: Array<string | string[]>): Promise<RebindingDnsServer> {
    const socket = createSocket('udp4');
    const server = new RebindingDnsServer(socket, name, answers);
    socket.on('message', (query, peer) => socket.send(server.answer(query), peer.port, peer.address));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return server;
  }

  /** A host lookup for TenantNetworkGuard that asks this server (A records only). */
  lookup(): (host: string) => Promise<Array<{ address: string }>> {
    const resolver = new Resolver({ timeout: 2_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${this.socket.address().port}`]);
    return async (host) => (await resolver.resolve4(host)).map((address) => ({ address }));
  }

  private answer(query: Buffer): Buffer {
    const { name, end, type } = questionOf(query);
    const known = name === this.name && type === 1;
    const answer = known ? this.answers[this.queries.length % this.answers.length] : [];
    const addresses = typeof answer === 'string' ? [answer] : answer;
    if (known) this.queries.push(addresses.join(' '));
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // the query's id
    header.writeUInt16BE(known ? 0x8180 : 0x8183, 2); // a response; NXDOMAIN for any other name
    header.writeUInt16BE(1, 4); // one question
    header.writeUInt16BE(addresses.length, 6); // the answers
    const question = query.subarray(12, end);
    // Each: a pointer to the name in the question, type A, class IN, TTL 0 (nothing cached), 4 bytes.
    const records = addresses.map((address) => Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, ...address.split('.').map(Number)]));
    return Buffer.concat([header, question, ...records]);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
