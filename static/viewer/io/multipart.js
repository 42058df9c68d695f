/**
 * Reads a multipart body as its chunks arrive, each part sized by its Content-Length
 * (so a part's bytes are copied once and never searched for the boundary).
 * @module io/multipart
 */

const CR = 13;
const LF = 10;
const DASH = 45;
// Far more than any frame's headers; beyond it the body is not what we asked for.
const MAX_HEADER_BYTES = 64 * 1024;

function concat(a, b) {
  if (!a.length) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function headerEnd(bytes) {
  for (let n = 0; n + 3 < bytes.length; n += 1) {
    if (bytes[n] === CR && bytes[n + 1] === LF && bytes[n + 2] === CR && bytes[n + 3] === LF) return n;
  }
  return -1;
}

/** Header lines to a Map of lower-case names. */
export function parseHeaders(text) {
  const headers = new Map();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

export class MultipartReader {
  /**
   * @param {string} boundary from the response's Content-Type
   * @param {(part: {headers: Map<string, string>, body: Uint8Array}) => void} onPart
   */
  constructor(boundary, onPart) {
    this.delimiter = new TextEncoder().encode(`--${boundary}`);
    this.onPart = onPart;
    this.state = 'delimiter';
    this.pending = new Uint8Array(0);
    this.parts = 0;
  }

  /** Take the next chunk of the body; throws when the body is malformed. */
  push(chunk) {
    let at = 0;
    while (at < chunk.length && this.state === 'body') {
      const take = Math.min(this.body.length - this.filled, chunk.length - at);
      this.body.set(chunk.subarray(at, at + take), this.filled);
      this.filled += take;
      at += take;
      if (this.filled === this.body.length) this.finishPart();
    }
    if (at >= chunk.length || this.state === 'done') return;
    this.pending = concat(this.pending, chunk.subarray(at));
    this.parsePending();
    if (this.state === 'body' && this.pending.length) {
      const rest = this.pending;
      this.pending = new Uint8Array(0);
      this.push(rest);
    }
  }

  /** The body ended; throws unless its closing delimiter came. */
  end() {
    if (this.state !== 'done') {
      throw new Error(`the response ended early, after ${this.parts} part${this.parts === 1 ? '' : 's'}`);
    }
  }

  finishPart() {
    this.parts += 1;
    this.state = 'delimiter';
    const part = { headers: this.headers, body: this.body };
    this.body = null;
    this.onPart(part);
  }

  parsePending() {
    for (;;) {
      const bytes = this.pending;
      if (this.state === 'delimiter') {
        // After a part's body the delimiter follows a line break.
        const start = bytes[0] === CR && bytes[1] === LF ? 2 : 0;
        const after = start + this.delimiter.length;
        if (bytes.length < after + 2) return;
        if (this.delimiter.some((byte, n) => bytes[start + n] !== byte)) {
          throw new Error('malformed multipart body: a part is not followed by the boundary');
        }
        if (bytes[after] === DASH && bytes[after + 1] === DASH) {
          this.state = 'done';
          this.pending = new Uint8Array(0);
          return;
        }
        if (bytes[after] !== CR || bytes[after + 1] !== LF) throw new Error('malformed multipart body: bad boundary line');
        this.pending = bytes.subarray(after + 2);
        this.state = 'headers';
      } else if (this.state === 'headers') {
        const end = headerEnd(bytes);
        if (end < 0) {
          if (bytes.length > MAX_HEADER_BYTES) throw new Error('malformed multipart body: part headers without end');
          return;
        }
        this.headers = parseHeaders(new TextDecoder('latin1').decode(bytes.subarray(0, end)));
        const length = Number(this.headers.get('content-length'));
        if (!this.headers.has('content-length') || !Number.isInteger(length) || length < 0) {
          throw new Error('malformed multipart body: a part without Content-Length');
        }
        this.pending = bytes.subarray(end + 4);
        this.body = new Uint8Array(length);
        this.filled = 0;
        this.state = 'body';
        if (length === 0) this.finishPart();
        else return;
      } else {
        return;
      }
    }
  }
}
