/**
 * Subjects: how events name the project they are about.
 *
 * - ApiServerSource: `/apis/<group>/<version>/namespaces/<ns>/<plural>/<name>` (the plural is
 *   guessed from the Kind by the adapter; ours, `supabaseprojects`, is the naive plural).
 * - Chain events: `namespaces/<ns>/supabaseprojects/<name>` (docs/architecture.md).
 */
import type { ObjectKey } from '../k8s/objects.ts';

const PLURAL = 'supabaseprojects';
// DNS-1123 label (namespace) and DNS-1123 subdomain (object name).
const NAMESPACE = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const NAME = '[a-z0-9]([-a-z0-9.]*[a-z0-9])?';
const CHAIN_SUBJECT = new RegExp(`^namespaces/(${NAMESPACE})/${PLURAL}/(${NAME})$`);

/** The subject of a chain event about `key`. */
export function chainSubject(key: ObjectKey): string {
  return `namespaces/${key.namespace}/${PLURAL}/${key.name}`;
}

/**
 * Reads the project key from a chain event subject.
 * @returns the key, or undefined when the subject does not name a SupabaseProject
 */
export function parseChainSubject(subject: string): ObjectKey | undefined {
  const match = CHAIN_SUBJECT.exec(subject);
  if (!match?.[1] || !match[3]) return undefined;
  return { namespace: match[1], name: match[3] };
}

/** The subject ApiServerSource gives an object (knative-facts.md §1.2). */
export function apiServerSubject(apiVersion: string, plural: string, key: ObjectKey): string {
  return `/apis/${apiVersion}/namespaces/${key.namespace}/${plural}/${key.name}`;
}
