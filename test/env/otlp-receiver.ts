import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An OTLP attribute value, decoded to plain JavaScript. */
export type AttributeValue = string | number | boolean | null | AttributeValue[];

/** One span as the receiver recorded it, flattened from the OTLP/JSON request. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty string for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** Resource attributes of the process that sent it (service.name, ...). */
  readonly resource: Readonly<Record<string, AttributeValue>>;
  readonly scope: string;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly events: readonly { name: string; attributes: Record<string, AttributeValue> }[];
}

/** A running OTLP/HTTP receiver. */
export interface OtlpReceiver {
  /** Base URL, as for OTEL_EXPORTER_OTLP_ENDPOINT (`http://127.0.0.1:<port>`). */
  readonly endpoint: string;
  /** Every span received so far, in arrival order. */
  readonly spans: readonly ReceivedSpan[];
  /** Raw request bodies received on /v1/metrics (OTLP/JSON). */
  readonly metricRequests: readonly unknown[];
  /** Raw request bodies received on /v1/logs (OTLP/JSON). */
  readonly logRequests: readonly unknown[];
  /** Resolves once `predicate` holds for the spans received, or rejects after `timeoutMs`. */
  waitForSpans(
    predicate: (spans: readonly ReceivedSpan[]) => boolean,
    timeoutMs?: number,
  ): Promise<readonly ReceivedSpan[]>;
  close(): Promise<void>;
}

interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  status?: { code?: number };
  events?: { name: string; attributes?: OtlpKeyValue[] }[];
}
interface OtlpTraceRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[];
  }[];
}

/**
 * Starts an OTLP/HTTP receiver on loopback that records what OpenTelemetry exporters send
 * (OTLP/JSON encoding, the `http/json` protocol), so tests can assert on real exported traces.
 * Protobuf requests are refused with 415 and a message saying which protocol to use.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const metricRequests: unknown[] = [];
  const logRequests: unknown[] = [];
  const waiters = new Set<() => void>();

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    const contentType = req.headers['content-type'] ?? '';
    if (!contentType.startsWith('application/json')) {
      res
        .writeHead(415, { 'content-type': 'text/plain' })
        .end('this receiver decodes OTLP/JSON only: set OTEL_EXPORTER_OTLP_PROTOCOL=http/json');
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end('body is not JSON');
      return;
    }
    switch (req.url) {
      case '/v1/traces':
        spans.push(...flattenSpans(body as OtlpTraceRequest));
        break;
      case '/v1/metrics':
        metricRequests.push(body);
        break;
      case '/v1/logs':
        logRequests.push(body);
        break;
      default:
        res.writeHead(404).end();
        return;
    }
    for (const wake of waiters) wake();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    metricRequests,
    logRequests,
    waitForSpans(predicate, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (predicate(spans)) {
            cleanup();
            resolve(spans);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `the expected spans did not arrive within ${timeoutMs} ms; received: ${spans
                .map((s) => s.name)
                .join(', ')}`,
            ),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

function flattenSpans(request: OtlpTraceRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const resourceSpans of request.resourceSpans ?? []) {
    const resource = toRecord(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        out.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? '',
          name: span.name,
          kind: span.kind ?? 0,
          attributes: toRecord(span.attributes),
          resource,
          scope: scopeSpans.scope?.name ?? '',
          statusCode: span.status?.code ?? 0,
          events: (span.events ?? []).map((e) => ({
            name: e.name,
            attributes: toRecord(e.attributes),
          })),
        });
      }
    }
  }
  return out;
}

function toRecord(attributes: OtlpKeyValue[] | undefined): Record<string, AttributeValue> {
  const record: Record<string, AttributeValue> = {};
  for (const { key, value } of attributes ?? []) record[key] = toValue(value);
  return record;
}

function toValue(value: OtlpAnyValue | undefined): AttributeValue {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(toValue);
  if (value.bytesValue !== undefined) return value.bytesValue;
  return null;
}
