/**
 * The receiving edge: an HTTP message becomes one validated CloudEvent, or a
 * MalformedEventError saying precisely what is wrong (the caller's mistake, answered 400).
 */
import { HTTP, ValidationError, type CloudEvent } from 'cloudevents';
import { truncate } from './describe.ts';
import { MalformedEventError } from './errors.ts';

/** The parts of an HTTP request a CloudEvent is read from. */
export interface HttpMessage {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as text; `undefined` when there was none. */
  readonly body: string | undefined;
}

/** The only CloudEvents version Knative and this runtime speak. */
const SPEC_VERSION = '1.0';

/**
 * Longest attribute value accepted. The attributes this project reads are short (a subject
 * names a namespace and an object: under 400 characters); they are bound into every log line
 * and span, so a sender must not choose their size.
 */
export const MAX_ATTRIBUTE_LENGTH = 1024;
/** Most attributes (required, optional and extensions) one event may carry. */
export const MAX_ATTRIBUTES = 64;

interface AjvError {
  readonly instancePath?: string;
  readonly keyword?: string;
  readonly message?: string;
  readonly params?: { readonly missingProperty?: string };
}

/** One readable sentence per schema violation, naming the attribute (never its value). */
function describeValidation(error: ValidationError): string {
  const problems = (error.errors ?? []).map((raw) => {
    const e = raw as AjvError;
    if (e.keyword === 'required' && e.params?.missingProperty !== undefined)
      return `missing required attribute "${e.params.missingProperty}"`;
    const attribute = truncate((e.instancePath ?? '').replace(/^\//, ''), 40);
    return `attribute "${attribute}" ${truncate(e.message ?? 'is invalid', 200)}`;
  });
  return problems.length > 0 ? problems.join('; ') : error.message;
}

function headerValue(headers: HttpMessage['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Reads one CloudEvent in binary or structured mode, and validates it (the SDK's
 * `HTTP.toEvent` does not). Batch mode is refused: Knative delivers one event per request,
 * and a reply can only answer one.
 * @throws MalformedEventError with the precise problem
 */
export function readCloudEvent(message: HttpMessage): CloudEvent<unknown> {
  const contentType = normaliseContentType(headerValue(message.headers, 'content-type') ?? '');
  const headers = { ...message.headers, 'content-type': contentType || undefined };
  if (contentType.startsWith('application/cloudevents-batch'))
    throw new MalformedEventError(
      'batch mode is not supported: send one CloudEvent per request, in binary or structured mode',
    );
  let parsed: CloudEvent<unknown> | CloudEvent<unknown>[];
  try {
    // toEvent is typed as returning the CloudEventV1 interface; it builds CloudEvent instances.
    parsed = HTTP.toEvent<unknown>({ headers, body: message.body ?? '' }) as
      CloudEvent<unknown> | CloudEvent<unknown>[];
  } catch (error) {
    throw toMalformed(error, contentType);
  }
  if (Array.isArray(parsed))
    throw new MalformedEventError('batch mode is not supported: send one CloudEvent per request');
  if (parsed.specversion !== SPEC_VERSION)
    throw new MalformedEventError(
      `unsupported specversion "${parsed.specversion}": only ${SPEC_VERSION} is accepted`,
    );
  try {
    parsed.validate();
  } catch (error) {
    throw toMalformed(error, contentType);
  }
  checkAttributeSizes(parsed);
  return parsed;
}

/**
 * The media type as the SDK compares it: HTTP media types and charset names are
 * case-insensitive and parameters may come with or without spaces
 * (`application/cloudevents+json;charset=UTF-8`), but the SDK matches one spelling only.
 */
export function normaliseContentType(value: string): string {
  const [mediaType = '', ...parameters] = value.split(';');
  const normalised = parameters
    .map((parameter) => parameter.trim())
    .filter((parameter) => parameter.length > 0)
    .map((parameter) => {
      const equals = parameter.indexOf('=');
      if (equals < 0) return parameter.toLowerCase();
      const name = parameter.slice(0, equals).trim().toLowerCase();
      let text = parameter.slice(equals + 1).trim();
      if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
      return `${name}=${name === 'charset' ? text.toLowerCase() : text}`;
    });
  return [mediaType.trim().toLowerCase(), ...normalised].join('; ');
}

/** Refuses attribute values and counts no real event has (their data is not bounded here). */
function checkAttributeSizes(event: CloudEvent<unknown>): void {
  const attributes = Object.entries(event).filter(
    ([name]) => name !== 'data' && name !== 'data_base64',
  );
  if (attributes.length > MAX_ATTRIBUTES) {
    throw new MalformedEventError(
      `the event has ${attributes.length} attributes; at most ${MAX_ATTRIBUTES} are accepted`,
    );
  }
  for (const [name, value] of attributes) {
    if (typeof value === 'string' && value.length > MAX_ATTRIBUTE_LENGTH) {
      throw new MalformedEventError(
        `attribute "${truncate(name, 40)}" is ${value.length} characters long; at most ${MAX_ATTRIBUTE_LENGTH} are accepted`,
      );
    }
  }
}

function toMalformed(error: unknown, contentType: string): MalformedEventError {
  if (error instanceof ValidationError) {
    if (error.message === 'no cloud event detected')
      return new MalformedEventError(
        'no CloudEvent in the request: expected ce-* headers (binary mode) or ' +
          'Content-Type application/cloudevents+json (structured mode)',
        { cause: error },
      );
    return new MalformedEventError(`invalid CloudEvent: ${describeValidation(error)}`, {
      cause: error,
    });
  }
  if (error instanceof SyntaxError)
    // V8's message quotes the body; the position is enough for the sender to find the fault.
    return new MalformedEventError(
      `the body is not valid JSON (Content-Type ${truncate(contentType, 100) || 'absent'})${jsonPosition(error)}`,
      { cause: error },
    );
  return new MalformedEventError('the request is not a readable CloudEvent', { cause: error });
}

function jsonPosition(error: SyntaxError): string {
  const match = /position (\d+)/.exec(error.message);
  return match ? ` at position ${match[1] ?? ''}` : '';
}
