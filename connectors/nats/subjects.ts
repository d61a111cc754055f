/**
 * The subjects and headers resin speaks on NATS (docs/nats.md). Agents publish
 * telemetry, the engine publishes alerts; every name a subject is built from goes
 * through `subjectToken` so that a component called `api.v2` or `my worker` cannot
 * split a subject or turn into a wildcard.
 */
export const TELEMETRY_PREFIX = 'resin.telemetry';
export const ALERTS_PREFIX = 'resin.alerts';

/** Marks a payload as Arrow IPC stream bytes; anything else is read as JSON. */
export const CONTENT_TYPE = 'Content-Type';
export const ARROW_CONTENT_TYPE = 'application/vnd.apache.arrow.stream';
export const JSON_CONTENT_TYPE = 'application/json';
/** JetStream drops a second message with the same id within the stream's duplicate window. */
export const MSG_ID = 'Nats-Msg-Id';
/** The publishing host, so that a subscriber can tell agents apart without decoding. */
export const HOST_HEADER = 'Resin-Host';

/** Separators, wildcards and white space (and nothing else) are replaced by `_`. */
const UNSAFE = /[.*>\s]/g;

/** `name` as one subject token. */
export function subjectToken(name: string): string {
  const token = name.replace(UNSAFE, '_');
  return token.length > 0 ? token : '_';
}

/** Whether `subject` is a valid subject to subscribe to (tokens non-empty, `>` only last). */
export function isSubscribableSubject(subject: string): boolean {
  if (subject.length === 0 || /\s/.test(subject)) return false;
  const tokens = subject.split('.');
  return tokens.every((t, i) => t.length > 0 && (t === '*' || t === '>' || !/[*>]/.test(t)) && (t !== '>' || i === tokens.length - 1));
}

/** Whether `subject` is a valid subject to publish to (no wildcards). */
export function isPublishableSubject(subject: string): boolean {
  return isSubscribableSubject(subject) && !/[*>]/.test(subject);
}
