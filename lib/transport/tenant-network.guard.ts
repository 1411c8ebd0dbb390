import { lookup as systemLookup } from 'node:dns/promises';
import { connect, isIP, Socket, TcpNetConnectOpts } from 'node:net';
import { TenantHostRefusedError } from '../errors';
import { TenantNetworkPolicy } from './tenant-network.policy';

/** How a host name becomes addresses: the system resolver (hosts file included) unless a test gives another. */
export type HostLookup = (host: string) => Promise<Array<{ address: string }>>;

const resolveWithSystem: HostLookup = (host) => systemLookup(host, { all: true, verbatim: true });

/** What nodemailer hands a `getSocket` handler: its options, and when it started connecting. */
interface SocketRequest {
  host?: string;
  port?: number | string;
  secure?: boolean;
  connectionTimeout?: number;
  /** Set by nodemailer: connectionTimeout counts from here. */
  connectStartedAt?: number;
}

type SocketCallback = (error: Error | null, socketOptions?: { connection: Socket } | false) => void;

/** A failure worded like nodemailer's own (code, originalCode, command), so the failure classifier reads both alike. */
function asNodemailerError(error: Error, code: string, extra: Record<string, unknown> = {}): Error {
  const { code: originalCode } = error as NodeJS.ErrnoException;
  return Object.assign(error, { code, originalCode, command: 'CONN', ...extra });
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out`), { code: 'ETIMEOUT' })), timeoutMs);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * Connects a tenant's transport only to addresses the policy permits. The host is resolved once, each
 * address checked, and the socket opened to a checked address (never to the name, which a second
 * resolution could point elsewhere: DNS rebinding); the name stays the transport's host, so TLS still
 * verifies the certificate against it. Used by delivery (as nodemailer's `getSocket`) and by the
 * doctor (`resolve`, before it opens its own socket).
 */
export class TenantNetworkGuard {
  constructor(
    private readonly policy: TenantNetworkPolicy,
    private readonly lookup: HostLookup = resolveWithSystem,
  ) {}

  /**
   * The permitted addresses of `host`, in the resolver's order. Throws TenantHostRefusedError when
   * there is none, and the resolver's error (`code` ENOTFOUND, ETIMEOUT…) when the name does not resolve.
   */
  async resolve(host: string, timeoutMs: number): Promise<string[]> {
    const addresses = isIP(host) ? [host] : (await withTimeout(this.lookup(host), timeoutMs, `Resolving ${host}`)).map(({ address }) => address);
    if (addresses.length === 0) throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
    const permitted = addresses.filter((address) => this.policy.permits(address));
    if (permitted.length === 0) throw new TenantHostRefusedError(host);
    return permitted;
  }

  /**
   * nodemailer's `getSocket` hook (SMTP transport and pool): a connected plain TCP socket, handed back
   * as `connection`. nodemailer then runs implicit TLS over it itself when `secure` is set (port 465),
   * with the host name as servername, just as over a socket it opened; STARTTLS works as usual.
   */
  readonly getSocket = (request: SocketRequest, callback: SocketCallback): void => {
    const host = request.host ?? 'localhost';
    const port = Number(request.port) || (request.secure ? 465 : 587);
    const deadline = (Number(request.connectStartedAt) || Date.now()) + (Number(request.connectionTimeout) || 10_000);
    this.open(host, port, deadline).then(
      (socket) => callback(null, { connection: socket }),
      (error: Error) => callback(error),
    );
  };

  private async open(host: string, port: number, deadline: number): Promise<Socket> {
    const remaining = () => Math.max(deadline - Date.now(), 1);
    const addresses = await this.resolve(host, remaining()).catch((error: Error) => {
      throw error instanceof TenantHostRefusedError ? error : asNodemailerError(error, 'EDNS');
    });
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect(this.connectOptions(host, port, addresses, remaining()));
      const fail = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const timeout = new Error('Connection timeout');
      const timer = setTimeout(() => fail(asNodemailerError(timeout, 'ETIMEDOUT', { timeoutType: 'CONNECT_TIMEOUT' })), remaining());
      socket.once('error', (error) => fail(asNodemailerError(error, 'ESOCKET')));
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        // nodemailer adds its own listener as it takes the socket; until then an error must not go unhandled.
        socket.on('error', () => undefined);
        // The peer is one of the checked addresses (connectOptions allows no other): kept as a last check.
        if (!socket.remoteAddress || !this.policy.permits(socket.remoteAddress)) return fail(new TenantHostRefusedError(host));
        resolve(socket);
      });
    });
  }

  /** One checked address: connect to it. Several: let Node try them in turn, but only them (its lookup answers with these). */
  private connectOptions(host: string, port: number, addresses: string[], timeoutMs: number): TcpNetConnectOpts {
    if (addresses.length === 1) return { host: addresses[0], port };
    const all = addresses.map((address) => ({ address, family: isIP(address) }));
    return {
      host,
      port,
      autoSelectFamily: true,
      autoSelectFamilyAttemptTimeout: Math.max(Math.floor(timeoutMs / addresses.length), 10),
      lookup: (_hostname, options, callback) => {
        const answer = callback as (error: Error | null, address: string | typeof all, family?: number) => void;
        setImmediate(() => (options.all ? answer(null, all) : answer(null, all[0].address, all[0].family)));
      },
    };
  }
}
