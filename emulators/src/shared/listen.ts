import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/** Starts `server` on `host`:`port` (0: a free port) and resolves with the port it got. */
export async function listen(server: HttpServer | HttpsServer, port: number, host: string): Promise<number> {
  // Clients keep connections alive between pages; don't close idle ones under them.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
