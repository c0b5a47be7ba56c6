/**
 * A transparent TCP relay on loopback that counts the bytes each way: put one in front of the
 * aggregator for a participant and you measure what that participant really puts on the wire
 * (TLS records, HTTP/2 and gRPC framing, authentication and task calls included).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class CountingProxy {
  /** Client -> server bytes. */
  up = 0;
  /** Server -> client bytes. */
  down = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<CountingProxy> {
    let proxy: CountingProxy | undefined;
    const server = createServer((client) => {
      const upstream = createConnection({ port: targetPort, host: targetHost });
      // No Nagle on either leg: a relay must not add delayed-ACK stalls the direct connection would not have.
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      const p = proxy!;
      p.sockets.add(client);
      p.sockets.add(upstream);
      client.on('data', (b: Buffer) => {
        p.up += b.length;
        if (!upstream.write(b)) client.pause();
      });
      upstream.on('drain', () => client.resume());
      upstream.on('data', (b: Buffer) => {
        p.down += b.length;
        if (!client.write(b)) upstream.pause();
      });
      client.on('drain', () => upstream.resume());
      const end = () => {
        client.destroy();
        upstream.destroy();
        p.sockets.delete(client);
        p.sockets.delete(upstream);
      };
      client.on('close', end);
      upstream.on('close', end);
      client.on('error', end);
      upstream.on('error', end);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    proxy = new CountingProxy(server, typeof addr === 'object' && addr ? addr.port : 0);
    return proxy;
  }

  snapshot(): { up: number; down: number } {
    return { up: this.up, down: this.down };
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
