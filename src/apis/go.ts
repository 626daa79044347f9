/**
 * Go's text forms of the values Tilt's API carries: bools as strconv.ParseBool reads them,
 * strings quoted as %q prints them, and durations.
 *
 * Durations as Go writes and reads them (`time.Duration.String` and `time.ParseDuration`):
 * Session timeouts are given in this form and Tilt's messages print it (`1m0s`, `1.5s`, `500ms`).
 * In code, durations are milliseconds; these functions convert at the edges.
 */

const nsPerUnit: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n, // U+00B5 micro sign
  'μs': 1_000n, // U+03BC Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/**
 * formatGoDuration writes ms as Go's Duration.String does: `0s`, `1.5s`, `1m0s`, `1h0m0s`,
 * `500ms`, `1.5µs`. The value is rounded to whole nanoseconds.
 */
export function formatGoDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`not a finite duration: ${ms}`);
  let ns = BigInt(Math.round(ms * 1e6));
  const neg = ns < 0n;
  if (neg) ns = -ns;
  let out: string;
  if (ns === 0n) {
    out = '0s';
  } else if (ns < 1_000_000_000n) {
    // Under a second: the largest unit below it, with a trimmed fraction.
    if (ns < 1_000n) out = `${ns}ns`;
    else if (ns < 1_000_000n) out = `${withFraction(ns, 3)}µs`;
    else out = `${withFraction(ns, 6)}ms`;
  } else {
    const hours = ns / nsPerUnit.h;
    const rest = ns % nsPerUnit.h;
    const minutes = rest / nsPerUnit.m;
    const secondsNs = rest % nsPerUnit.m;
    out = `${withFraction(secondsNs, 9)}s`;
    if (hours > 0n || minutes > 0n) out = `${minutes}m${out}`;
    if (hours > 0n) out = `${hours}h${out}`;
  }
  return neg ? `-${out}` : out;
}

/** withFraction prints v / 10^digits with its fraction, trailing zeros (and a bare dot) trimmed. */
function withFraction(v: bigint, digits: number): string {
  const scale = 10n ** BigInt(digits);
  const whole = v / scale;
  const frac = (v % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

/**
 * parseGoDuration reads a Go duration string (`30s`, `1m30s`, `1.5h`, `-2m`, `0`) into
 * milliseconds (fractional below a millisecond). Throws a RangeError on anything else, as Go
 * does: a unit is required except for `0`.
 */
export function parseGoDuration(s: string): number {
  const orig = s;
  const fail = (): never => {
    throw new RangeError(`invalid duration ${JSON.stringify(orig)}`);
  };
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') fail();
  let totalNs = 0;
  const re = /^([0-9]*)(?:\.([0-9]*))?([^0-9.]+)/;
  while (s !== '') {
    const m = re.exec(s);
    if (!m) return fail();
    const [all, whole, frac, unit] = m;
    if (whole === '' && (frac === undefined || frac === '')) fail();
    const perUnit = nsPerUnit[unit];
    if (perUnit === undefined) fail();
    totalNs += Number(whole || '0') * Number(perUnit) + (frac ? Number(`0.${frac}`) * Number(perUnit) : 0);
    s = s.slice(all.length);
  }
  const ms = Math.round(totalNs) / 1e6;
  return neg ? -ms : ms;
}

/**
 * parseGoDurationOr reads an optional duration: `fallbackMs` when the value is absent or empty.
 */
export function parseGoDurationOr(s: string | undefined, fallbackMs: number): number {
  if (s === undefined || s === '') return fallbackMs;
  return parseGoDuration(s);
}

/**
 * parseGoBool parses a bool as Go's strconv.ParseBool does: 1 t T TRUE true True and
 * 0 f F FALSE false False; anything else gives Go's error text.
 */
export function parseGoBool(s: string): boolean | { error: string } {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
    default:
      return { error: `strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax` };
  }
}

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** isPrintable is Go's unicode.IsPrint for one code point: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrintable(ch: string): boolean {
  return printable.test(ch);
}
const shortEscapes: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '\\': '\\\\',
  '"': '\\"',
};

/** goQuote quotes s as Go's %q (strconv.Quote) does, for messages that must match Tilt's. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const short = shortEscapes[ch];
    if (short) {
      out += short;
      continue;
    }
    if (isPrintable(ch)) {
      out += ch;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out + '"';
}
