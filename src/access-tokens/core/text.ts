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
