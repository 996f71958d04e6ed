/**
 * Kubernetes' own name rules (apimachinery's validation: IsDNS1123Label, IsDNS1123Subdomain).
 * Names from events are checked against them before they reach a request path: the client
 * normalises `..` and `.` segments, so an unchecked name could address another resource.
 */

/** Longest DNS-1123 label: a namespace name. */
export const DNS1123_LABEL_MAX = 63;
/** Longest DNS-1123 subdomain: most object names. */
export const DNS1123_SUBDOMAIN_MAX = 253;

/** A DNS-1123 label: lower-case letters, digits and `-`, starting and ending alphanumeric. */
export const DNS1123_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** A DNS-1123 subdomain: labels joined by `.`. */
export const DNS1123_SUBDOMAIN_PATTERN =
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

const LABEL = new RegExp(DNS1123_LABEL_PATTERN);
const SUBDOMAIN = new RegExp(DNS1123_SUBDOMAIN_PATTERN);

/** Whether `value` is a valid namespace name. */
export function isNamespaceName(value: string): boolean {
  return value.length <= DNS1123_LABEL_MAX && LABEL.test(value);
}

/** Whether `value` is a valid object name (DNS-1123 subdomain). */
export function isObjectName(value: string): boolean {
  return value.length <= DNS1123_SUBDOMAIN_MAX && SUBDOMAIN.test(value);
}
