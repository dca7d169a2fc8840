import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stand-in object router for local runs: accepts every event and prints what it received. */
export async function startPrintingRouter(print: (line: string) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const h = req.headers;
      print(
        `router ← ${String(h['ce-id'])} type=${String(h['ce-type'])} attempt=${String(h['x-delivery-attempt'])} ` +
          `body=${Buffer.concat(chunks).toString('utf8')}`,
      );
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/events`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
