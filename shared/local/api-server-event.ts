/**
 * The HTTP message Knative's ApiServerSource adapter (mode Resource) posts for one watch
 * notification, byte for byte where it matters (knative-facts.md §1.2-1.4 and the measured
 * last section): binary mode, `Content-Type: application/json` without charset and no
 * `ce-datacontenttype`, `Ce-Source` the API server URL, `Ce-Subject` the self-link-like path
 * with the plural guessed from the Kind, `Ce-Time` with nanoseconds, the extensions
 * `apiversion`, `kind`, `name`, `namespace`, `Kn-Namespace` the source's namespace, and the
 * whole object as the body, encoded as Go encodes it.
 */
import { randomUUID } from 'node:crypto';
import { apiServerSubject } from '../events/subject.ts';
import { API_SERVER_EVENT, type ResourceAction } from '../events/types.ts';
import type { RawObject } from '../k8s/watch.ts';
import { goJson, rfc3339Nano } from './go-encoding.ts';
import type { OutgoingMessage } from './sink-post.ts';

/** What one event is about, and who sends it. */
export interface ApiServerEventInput {
  readonly action: ResourceAction;
  /** The object as the API server returned it. */
  readonly object: RawObject;
  /** The API server URL (the kubeconfig's `server`). */
  readonly source: string;
  /** The source's own namespace (`Kn-Namespace`). */
  readonly sourceNamespace: string;
  /** Default: a fresh UUID, as the adapter sets right before sending. */
  readonly id?: string;
  /** Default: now, RFC 3339 with nanoseconds. */
  readonly time?: string;
}

/**
 * The plural the adapter derives from a Kind (`meta.UnsafeGuessKindToResource`,
 * knative-facts.md §1.6): lower-cased; `-s` → `-ses`, `-y` → `-ies`, `...endpoints` unchanged,
 * else `+s`. Our Kinds (SupabaseProject, Deployment) guess right.
 */
export function guessPlural(kind: string): string {
  const singular = kind.toLowerCase();
  if (singular === '' || singular.endsWith('endpoints')) return singular;
  if (singular.endsWith('s')) return `${singular}es`;
  if (singular.endsWith('y')) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

/**
 * Builds the message. Header names are written in Go's canonical form, as the adapter's
 * net/http writes them (HTTP header names are case-insensitive; Node lower-cases them).
 */
export function apiServerMessage(input: ApiServerEventInput): OutgoingMessage {
  const { object } = input;
  const namespace = object.metadata.namespace ?? '';
  return {
    headers: {
      'Content-Type': 'application/json',
      'Ce-Specversion': '1.0',
      'Ce-Id': input.id ?? randomUUID(),
      'Ce-Source': input.source,
      'Ce-Type': API_SERVER_EVENT[input.action],
      // Always /apis/..., also for the core group (events.go; knative-facts.md §1.2).
      'Ce-Subject': apiServerSubject(object.apiVersion, guessPlural(object.kind), {
        namespace,
        name: object.metadata.name,
      }),
      'Ce-Time': input.time ?? rfc3339Nano(),
      'Ce-Apiversion': object.apiVersion,
      'Ce-Kind': object.kind,
      'Ce-Name': object.metadata.name,
      // Empty for a cluster-scoped object, as sdk-go sends it.
      'Ce-Namespace': namespace,
      'Kn-Namespace': input.sourceNamespace,
    },
    body: goJson(object),
  };
}
