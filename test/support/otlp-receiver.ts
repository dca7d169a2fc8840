import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as the OTLP/HTTP JSON encoding carries it (ids in hex), with what a spec asserts on. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
}

/** One metric data point: its metric's name and the point's attributes. */
export interface ReceivedPoint {
  readonly metric: string;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** asInt / asDouble for sums and gauges, count for histograms. */
  readonly value: number;
}

/** A plain node:http server on 127.0.0.1 standing in for an OpenTelemetry collector (OTLP over HTTP, JSON). */
export interface OtlpReceiver {
  /** The base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  readonly points: ReceivedPoint[];
  /** Requests by path, e.g. /v1/traces. */
  readonly requests: string[];
  /** What the next requests are answered with (200 by default; a spec can make the collector fail or hang). */
  answer: 'ok' | 'fail' | 'hang';
  close(): Promise<void>;
}

interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}

function attributesOf(list: readonly KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) {
    const v = value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue;
    out[key] = typeof v === 'string' && value.intValue !== undefined ? Number(v) : v;
  }
  return out;
}

/** Starts the receiver; the exporters' JSON payloads are decoded into spans and points as they arrive. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const sockets = new Set<import('node:net').Socket>();
  const receiver: OtlpReceiver = {
    url: '',
    spans: [],
    points: [],
    requests: [],
    answer: 'ok',
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      receiver.requests.push(req.url ?? '');
      if (receiver.answer === 'hang') return;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown[]>;
      if (req.url === '/v1/traces') collectSpans(body, receiver.spans);
      if (req.url === '/v1/metrics') collectPoints(body, receiver.points);
      res.writeHead(receiver.answer === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(receiver, { url: `http://127.0.0.1:${port}` });
  return receiver;
}

type Json = Record<string, unknown>;

function collectSpans(body: Json, into: ReceivedSpan[]): void {
  for (const resource of (body.resourceSpans ?? []) as Json[])
    for (const scope of (resource.scopeSpans ?? []) as Json[])
      for (const span of (scope.spans ?? []) as Json[]) {
        const parent = span.parentSpanId as string | undefined;
        into.push({
          traceId: span.traceId as string,
          spanId: span.spanId as string,
          parentSpanId: parent === undefined || parent === '' ? undefined : parent,
          name: span.name as string,
          attributes: attributesOf(span.attributes as KeyValue[] | undefined),
          links: ((span.links ?? []) as Json[]).map((link) => ({ traceId: link.traceId as string, spanId: link.spanId as string })),
        });
      }
}

function collectPoints(body: Json, into: ReceivedPoint[]): void {
  for (const resource of (body.resourceMetrics ?? []) as Json[])
    for (const scope of (resource.scopeMetrics ?? []) as Json[])
      for (const metric of (scope.metrics ?? []) as Json[]) {
        const data = (metric.sum ?? metric.gauge ?? metric.histogram) as { dataPoints?: Json[] } | undefined;
        for (const point of data?.dataPoints ?? []) {
          const raw = point.asInt ?? point.asDouble ?? point.count;
          into.push({
            metric: metric.name as string,
            attributes: attributesOf(point.attributes as KeyValue[] | undefined),
            value: Number(raw ?? 0),
          });
        }
      }
}
