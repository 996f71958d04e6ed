/**
 * The receiving edge: an HTTP message becomes one validated CloudEvent, or a
 * MalformedEventError saying precisely what is wrong (the caller's mistake, answered 400).
 */
import { HTTP, ValidationError, type CloudEvent } from 'cloudevents';
import { MalformedEventError } from './errors.ts';

/** The parts of an HTTP request a CloudEvent is read from. */
export interface HttpMessage {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body as text; `undefined` when there was none. */
  readonly body: string | undefined;
}

/** The only CloudEvents version Knative and this runtime speak. */
const SPEC_VERSION = '1.0';

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
    const attribute = (e.instancePath ?? '').replace(/^\//, '');
    return `attribute "${attribute}" ${e.message ?? 'is invalid'}`;
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
  const contentType = headerValue(message.headers, 'content-type') ?? '';
  if (contentType.startsWith('application/cloudevents-batch'))
    throw new MalformedEventError(
      'batch mode is not supported: send one CloudEvent per request, in binary or structured mode',
    );
  let parsed: CloudEvent<unknown> | CloudEvent<unknown>[];
  try {
    // toEvent is typed as returning the CloudEventV1 interface; it builds CloudEvent instances.
    parsed = HTTP.toEvent<unknown>({ headers: message.headers, body: message.body ?? '' }) as
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
  return parsed;
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
      `the body is not valid JSON (Content-Type ${contentType || 'absent'})${jsonPosition(error)}`,
      { cause: error },
    );
  return new MalformedEventError('the request is not a readable CloudEvent', { cause: error });
}

function jsonPosition(error: SyntaxError): string {
  const match = /position (\d+)/.exec(error.message);
  return match ? ` at position ${match[1] ?? ''}` : '';
}
