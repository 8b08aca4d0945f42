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

/** The longest user agent kept, in UTF-16 code units (so in characters too): the column's length. */
export const MAX_USER_AGENT_LENGTH = 255;
/** What of a header is looked at: enough for any user agent kept, whatever the header's size. */
const USER_AGENT_READ = 4 * MAX_USER_AGENT_LENGTH;
// eslint-disable-next-line no-control-regex -- replacing control characters is the point
const CONTROL_RUNS = /[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Characters Node gives for the bytes 0x80 to 0xff of a header, which it reads as Latin-1. */
const HIGH_LATIN1 = /[\u0080-\u00ff]/;
/** A character no byte of a header is read as. */
// eslint-disable-next-line no-control-regex -- the range of Latin-1 starts at NUL
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A `User-Agent` header's value as stored and shown: at most {@link MAX_USER_AGENT_LENGTH}
 * characters, cut between code points (never half an emoji), each run of control characters or
 * white space (NUL, newlines, tabs) one space, a lone surrogate U+FFFD, trimmed; `null` when there is
 * none or nothing is left. Of a repeated header, the first. Only the start of a huge header is read,
 * so that a 1 MB header costs what a short one does. Node reads a header's bytes as Latin-1: one
 * that is well-formed UTF-8 (`App/1 (Überall)`, an emoji) is read as the UTF-8 it is.
 */
export function boundedUserAgent(value: unknown): string | null {
  const header: unknown = Array.isArray(value) ? value[0] : value;
  if (typeof header !== 'string') return null;
  let text = asUtf8(header.slice(0, USER_AGENT_READ), header.length > USER_AGENT_READ)
    .replace(CONTROL_RUNS, ' ')
    .replace(LONE_SURROGATE, '\uFFFD')
    .trim();
  if (text.length > MAX_USER_AGENT_LENGTH) {
    // A high surrogate last would leave half a character.
    const end = /[\uD800-\uDBFF]/.test(text.charAt(MAX_USER_AGENT_LENGTH - 1))
      ? MAX_USER_AGENT_LENGTH - 1
      : MAX_USER_AGENT_LENGTH;
    text = text.slice(0, end).trimEnd();
  }
  return text === '' ? null : text;
}

/**
 * `latin1`, a header as Node reads it (a character a byte), as the UTF-8 it is if it is some; else
 * as it is. If the header was `cut` short to be read, the cut may have split a character's bytes at
 * its end: up to three are then left out.
 */
function asUtf8(latin1: string, cut: boolean): string {
  if (!HIGH_LATIN1.test(latin1) || BEYOND_LATIN1.test(latin1)) return latin1;
  const bytes = Buffer.from(latin1, 'latin1');
  for (let end = bytes.length; end >= 0 && end >= bytes.length - (cut ? 3 : 0); end--) {
    try {
      return UTF8.decode(bytes.subarray(0, end));
    } catch {
      // Not UTF-8 this far: try without one more byte at the end.
    }
  }
  return latin1;
}
