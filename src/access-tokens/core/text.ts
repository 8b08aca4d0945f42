/**
 * Text a database stores as it is: no control characters (NUL above all, which PostgreSQL refuses
 * in any text) and well-formed UTF-16 (a lone surrogate has no UTF-8 form).
 */
const UNSTORABLE =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `text` is well-formed and free of control characters. */
export function isPrintableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** The longest user agent kept (the `last_used_user_agent` column's length). */
export const MAX_USER_AGENT_LENGTH = 255;

/** Control characters and lone surrogates, removed from a user agent. */
const UNSTORABLE_ALL =
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  /[\u0000-\u001f\u007f-\u009f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A request's `User-Agent`, as events and the audit columns keep it: control characters and lone
 * surrogates removed, at most {@link MAX_USER_AGENT_LENGTH} characters (never half a surrogate
 * pair), or `null` when the request has none (or no request was given). Whatever the client sent,
 * it neither breaks a log line nor fails a database write.
 */
export function userAgentOf(
  request: { headers?: Record<string, string | string[] | undefined> } | undefined,
): string | null {
  const header = request?.headers?.['user-agent'];
  const raw = Array.isArray(header) ? header[0] : header;
  if (typeof raw !== 'string') return null;
  // Bounded before the scan: a header of megabytes costs no more than one of 255 characters.
  let text = raw
    .slice(0, MAX_USER_AGENT_LENGTH * 2)
    .replace(UNSTORABLE_ALL, '')
    .trim();
  if (text.length > MAX_USER_AGENT_LENGTH) {
    text = text.slice(0, MAX_USER_AGENT_LENGTH);
    if (/[\uD800-\uDBFF]$/.test(text)) text = text.slice(0, -1);
  }
  return text === '' ? null : text;
}
