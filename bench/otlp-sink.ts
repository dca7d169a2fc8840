import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A loopback OpenTelemetry collector for the bench: reads every OTLP/HTTP export and answers 200. */
export interface OtlpSink {
  /** The value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  /** Exports received per path (/v1/traces, /v1/metrics) and their bytes, to show telemetry was really sent. */
  counts(): { readonly traceExports: number; readonly metricExports: number; readonly bytes: number };
  close(): Promise<void>;
}

/** Starts the sink on 127.0.0.1; the payloads are counted, not decoded, so the bench's own CPU stays small. */
export async function startOtlpSink(): Promise<OtlpSink> {
  let traceExports = 0;
  let metricExports = 0;
  let bytes = 0;
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      if (req.url === '/v1/traces') traceExports += 1;
      if (req.url === '/v1/metrics') metricExports += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => ({ traceExports, metricExports, bytes }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
