/**
 * For the local broker's tests: real HTTP subscribers on loopback whose answers each test
 * decides, and Knative manifests written inline (the test's own Triggers, with short backoffs).
 */
import { once } from 'node:events';
import {
  createServer,
  type IncomingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudEvent, HTTP } from 'cloudevents';
import { createLocalBroker, type LocalBroker } from '../../shared/local/broker.ts';
import { parseManifests } from '../../shared/local/triggers.ts';
import { memoryLogger } from '../fixtures/memory-logger.ts';

/** One request a subscriber received. */
export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly event: CloudEvent<unknown>;
}

/** How a subscriber answers: a status with an optional body, a reply event, or never. */
export type Answer =
  | { readonly status: number; readonly body?: string; readonly contentType?: string }
  | { readonly reply: CloudEvent<unknown> }
  | 'hang';

/** A subscriber (a function, or a dead-letter sink) listening on loopback. */
export interface Subscriber {
  readonly name: string;
  readonly url: string;
  readonly received: Received[];
  /** Decides the answer to the n-th request (0-based); default 204. */
  answer: (request: Received, n: number) => Answer | Promise<Answer>;
  close(): Promise<void>;
}

/** Starts a subscriber. */
export async function startSubscriber(name: string): Promise<Subscriber> {
  const hanging = new Set<ServerResponse>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const parsed = HTTP.toEvent({ headers: req.headers, body });
      const event = Array.isArray(parsed) ? parsed[0] : parsed;
      if (!(event instanceof CloudEvent)) {
        res.writeHead(400).end('not one CloudEvent');
        return;
      }
      const request = { headers: req.headers, body, event };
      const n = subscriber.received.length;
      subscriber.received.push(request);
      void Promise.resolve(subscriber.answer(request, n)).then((answer) => {
        if (answer === 'hang') {
          hanging.add(res);
        } else if ('reply' in answer) {
          const message = HTTP.binary(answer.reply);
          res.writeHead(200, message.headers as Record<string, string>).end(message.body);
        } else {
          res
            .writeHead(
              answer.status,
              answer.contentType ? { 'content-type': answer.contentType } : {},
            )
            .end(answer.body ?? '');
        }
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const subscriber: Subscriber = {
    name,
    url: `http://127.0.0.1:${port}/`,
    received: [],
    answer: () => ({ status: 204 }),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  return subscriber;
}

/** One Trigger of a test topology. */
export interface TestTrigger {
  readonly name: string;
  readonly type: string;
  readonly subscriber: string;
  /** The `delivery` block as YAML flow text, e.g. `{ retry: 2 }`. */
  readonly delivery?: string;
}

/** Manifests for a Broker `default` (with `brokerDelivery`) and the given Triggers. */
export function testManifests(triggers: readonly TestTrigger[], brokerDelivery?: string): string {
  const broker = `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
spec: ${brokerDelivery ? `{ delivery: ${brokerDelivery} }` : '{}'}
`;
  return [
    broker,
    ...triggers.map(
      (t) => `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${t.name} }
spec:
  broker: default
  filter: { attributes: { type: ${t.type} } }
  subscriber: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: ${t.subscriber} } }
${t.delivery ? `  delivery: ${t.delivery}\n` : ''}`,
    ),
  ].join('---\n');
}

/** A broker over the test's manifests, resolving subscribers by name, logging to memory. */
export function testBroker(
  manifests: string,
  subscribers: readonly Subscriber[],
  options: { maxTtl?: number; maxInFlight?: number } = {},
): { broker: LocalBroker; lines: string[] } {
  const { logger, lines } = memoryLogger('local-broker');
  const byName = new Map(subscribers.map((s) => [s.name, s.url]));
  const broker = createLocalBroker({
    topology: parseManifests([{ text: manifests, origin: 'test manifests' }]),
    namespace: 'reconciler',
    logger,
    resolve: (ref) => {
      const url = byName.get(ref.name);
      if (url === undefined) throw new Error(`no subscriber ${ref.name}`);
      return url;
    },
    ...options,
  });
  return { broker, lines };
}

/** An event of `type`, as a source or a function would send it. */
export function testEvent(
  type: string,
  extensions: Record<string, string> = {},
): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    type,
    source: '/test',
    subject: 'namespaces/team-a/supabaseprojects/demo',
    datacontenttype: 'application/json',
    data: { hello: 'world' },
    ...extensions,
  });
}
