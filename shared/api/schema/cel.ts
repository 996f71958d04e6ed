/**
 * Helpers to write CEL `x-kubernetes-validations` rules, and the regular expressions they
 * share with the TypeScript checks. Every rule carries a message that says what is wrong
 * and what is allowed: the API server shows it verbatim after the field path.
 *
 * Rules use CEL raw strings (`r'...'`) for regular expressions so backslashes need no
 * second escaping. Regular expressions are RE2 (no look-around), which the JavaScript
 * engine reads the same way for the constructs used here.
 */

/** One entry of `x-kubernetes-validations`. */
export interface CelRule {
  readonly rule: string;
  readonly message: string;
  /** Overrides `message` with a computed one (the static message is the fallback). */
  readonly messageExpression?: string;
  /** Where the error points, relative to the schema node, for example `.limits`. */
  readonly fieldPath?: string;
  /**
   * The kind of error the API server reports (`Invalid value` when unset). `FieldValueRequired`
   * prints `Required value: <message>`, as a missing required property does.
   */
  readonly reason?: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden';
}

/**
 * Builds a rule.
 * @param rule - CEL expression that must be true
 * @param message - what is wrong and what is allowed
 * @param extra - optional messageExpression, fieldPath and reason
 */
export function cel(
  rule: string,
  message: string,
  extra: Pick<CelRule, 'messageExpression' | 'fieldPath' | 'reason'> = {},
): CelRule {
  return { rule, message, ...extra };
}

/**
 * A CEL string literal for a value (single-quoted, escaped). Used to embed constants from
 * TypeScript tables in rules.
 * @param value - the string
 */
export function celString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * A CEL list literal of strings.
 * @param values - the strings
 */
export function celStringList(values: readonly string[]): string {
  return `[${values.map(celString).join(', ')}]`;
}

/** RFC 1123 DNS subdomain (Secret, IngressClass and host names). */
export const DNS_SUBDOMAIN_PATTERN =
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';

/** RFC 1123 DNS label (namespace names, projectId). */
export const DNS_LABEL_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

const IMAGE_PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const IMAGE_HOST_COMPONENT = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
// As Docker decides: the first component is a registry only when it has a '.' or a port or
// is localhost; otherwise it is part of the (lower-case) path, so `Kong/kong:1` is refused.
const IMAGE_DOMAIN = `(?:(?:localhost|${IMAGE_HOST_COMPONENT}(?:\\.${IMAGE_HOST_COMPONENT})+)(?::[0-9]+)?/|${IMAGE_HOST_COMPONENT}:[0-9]+/)?`;
const IMAGE_TAG = ':[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,127}';
const IMAGE_DIGEST = '@[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}';

/**
 * A container image reference that names a tag, a digest, or both
 * (`[registry[:port]/]path:tag`, `path@sha256:<hex>`, `path:tag@sha256:<hex>`), after the
 * grammar of distribution/reference. A reference without either would float with whatever
 * `latest` is, so it is refused.
 */
export const IMAGE_REFERENCE_PATTERN = `^${IMAGE_DOMAIN}${IMAGE_PATH_COMPONENT}(?:/${IMAGE_PATH_COMPONENT})*(?:${IMAGE_TAG}(?:${IMAGE_DIGEST})?|${IMAGE_DIGEST})$`;

/**
 * An environment variable name as Kubernetes has long accepted it (letters, digits, `_`,
 * `-`, `.`; not starting with a digit), which every component's shell also accepts.
 */
export const ENV_VAR_NAME_PATTERN = '^[-._a-zA-Z][-._a-zA-Z0-9]*$';
