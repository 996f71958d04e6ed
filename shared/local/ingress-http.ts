/**
 * The local broker's ingress over HTTP, as Knative's broker-ingress answers
 * (knative-facts.md §3.1): POST one CloudEvent (binary or structured) → 202 once accepted,
 * 400 for an invalid event or an exhausted TTL, 503 while the broker cannot take it (the
 * sources retry 503), 405 for another method; OPTIONS → 200 with the WebHook headers.
 * A plain node:http handler, so the local runtime can mount it in express or anywhere else.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES } from '../runtime/app.ts';
import { truncate } from '../runtime/describe.ts';
import type { HttpMessage } from '../runtime/receive.ts';
import { MAX_ERROR_BODY } from '../runtime/respond.ts';
import type { IngressResult } from './ingress.ts';

/** Reads the request's CloudEvent and takes it, or refuses it (the broker's ingress). */
export type AcceptMessage = (message: HttpMessage) => IngressResult;

/**
 * Builds the request handler.
 * @param accept - the broker's ingress
 */
export function ingressRequestHandler(
  accept: AcceptMessage,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method === 'OPTIONS') {
      res
        .writeHead(200, {
          allow: 'POST, OPTIONS',
          'webhook-allowed-origin': '*',
          'webhook-allowed-rate': '*',
        })
        .end();
      return;
    }
    if (req.method !== 'POST') {
      answer(res, { status: 405, message: 'only POST (one CloudEvent) is accepted' });
      return;
    }
    void readBody(req).then(
      (body) => {
        if (body === undefined) {
          answer(res, {
            status: 413,
            message: `the event is larger than ${MAX_BODY_BYTES} bytes`,
          });
          return;
        }
        answer(res, accept({ headers: req.headers, body }));
      },
      () => {
        // The sender went away mid-body: nobody is left to answer.
        res.destroy();
      },
    );
  };
}

function answer(res: ServerResponse, result: IngressResult): void {
  if (result.status === 202) {
    res.writeHead(202).end();
    return;
  }
  res
    .writeHead(result.status, { 'content-type': 'text/plain; charset=utf-8' })
    .end(truncate(result.message, MAX_ERROR_BODY));
}

/**
 * The body as text: the one a body parser already read (express.text), else read here.
 * @returns undefined when it exceeds the bound
 */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const parsed = (req as { body?: unknown }).body;
  if (typeof parsed === 'string') return parsed;
  if (Buffer.isBuffer(parsed)) return parsed.toString('utf8');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
