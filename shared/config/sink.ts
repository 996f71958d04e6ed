/**
 * Settings of a function that posts CloudEvents out of band (not as its reply): the sink
 * Knative's SinkBinding injects (`K_SINK`, `K_CE_OVERRIDES`; knative-facts.md §5) and how long
 * one post may take. A reply carries one event; a function that emits several posts them.
 */
import { InvalidSetting, integer, Setting, type ConfigOf } from './settings.ts';

/** Defaults of the sink settings, in one place. */
export const SINK_DEFAULTS = Object.freeze({
  /** One post to the broker's ingress: it answers at once (it only enqueues). */
  timeoutMs: 5000,
});

/**
 * Attributes the reconciler sets itself on what it emits: an override must not replace them
 * (a chain event with another type, uid or generation would start the wrong chain).
 */
export const RESERVED_ATTRIBUTES: ReadonlySet<string> = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
  'projectuid',
  'generation',
  'traceparent',
  'tracestate',
]);

// CloudEvents attribute names: lower-case letters and digits (spec §"Attribute Naming").
const EXTENSION_NAME = /^[a-z0-9]{1,64}$/;
const MAX_OVERRIDE_VALUE = 1024;

/** `K_SINK`: where to post. Required: a function that cannot emit must not start. */
function sinkUrl(): Setting<string> {
  const allowed = 'an absolute http:// or https:// URL (Knative sets it through a SinkBinding)';
  return new Setting(['K_SINK'], (raw, variable) => {
    if (raw === undefined)
      throw new InvalidSetting(
        `${variable} is required: ${allowed}; bind the function with a SinkBinding whose sink is the Broker, or set it to the Broker's ingress URL`,
      );
    const url = URL.canParse(raw) ? new URL(raw) : undefined;
    // The value is not echoed: a URL may carry user info.
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw new InvalidSetting(`${variable} must be ${allowed}`);
    return raw;
  });
}

/**
 * `K_CE_OVERRIDES`: `{"extensions":{"name":"value",...}}`, or unset/empty for none (the
 * SinkBinding sets an empty string when the binding has no overrides).
 */
function ceOverrides(): Setting<Readonly<Record<string, string>>> {
  const shape = 'JSON of the form {"extensions":{"<name>":"<text>",...}}';
  return new Setting(['K_CE_OVERRIDES'], (raw, variable) => {
    if (raw === undefined) return Object.freeze({});
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new InvalidSetting(`${variable} is not JSON: expected ${shape}, or an empty value`);
    }
    const isRecord = (value: unknown): value is Record<string, unknown> =>
      typeof value === 'object' && value !== null && !Array.isArray(value);
    if (!isRecord(parsed)) throw new InvalidSetting(`${variable} must be ${shape}`);
    // Knative writes `{}` or `{"extensions":null}` for a binding without overrides.
    const { extensions = {} } = parsed;
    if (extensions !== null && !isRecord(extensions))
      throw new InvalidSetting(`${variable} must be ${shape}`);
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(extensions ?? {})) {
      const shown = JSON.stringify(name.slice(0, 64));
      if (!EXTENSION_NAME.test(name))
        throw new InvalidSetting(
          `${variable} names the extension ${shown}: extension names are 1 to 64 lower-case letters and digits`,
        );
      if (RESERVED_ATTRIBUTES.has(name))
        throw new InvalidSetting(
          `${variable} names ${shown}, which the reconciler sets itself on every event it emits; remove it from the SinkBinding's ceOverrides`,
        );
      if (typeof value !== 'string' || value.length > MAX_OVERRIDE_VALUE)
        throw new InvalidSetting(
          `${variable}: the value of ${shown} must be text of at most ${MAX_OVERRIDE_VALUE} characters`,
        );
      out[name] = value;
    }
    return Object.freeze(out);
  });
}

/** The sink settings, composed into a function's schema. */
export const sinkSchema = {
  sink: {
    url: sinkUrl(),
    /** Extensions added to every emitted event. */
    extensions: ceOverrides(),
    /** Bound of one post, connection included. */
    timeoutMs: integer('SINK_TIMEOUT_MS', {
      default: SINK_DEFAULTS.timeoutMs,
      min: 100,
      max: 60_000,
    }),
  },
};

/** The parsed sink settings. */
export type SinkSettings = ConfigOf<typeof sinkSchema>['sink'];
