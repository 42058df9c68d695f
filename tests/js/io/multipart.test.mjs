import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MultipartReader, parseHeaders } from '../../../static/viewer/io/multipart.js';
import { decodeFrame } from '../../../static/viewer/io/api.js';

const encoder = new TextEncoder();

function body(boundary, parts, { close = true } = {}) {
  const pieces = [];
  for (const { headers, bytes } of parts) {
    const lines = [`--${boundary}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    pieces.push(encoder.encode(`${lines.join('\r\n')}\r\n\r\n`), bytes, encoder.encode('\r\n'));
  }
  if (close) pieces.push(encoder.encode(`--${boundary}--\r\n`));
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) { out.set(p, at); at += p.length; }
  return out;
}

function sample() {
  // Part bodies that contain the boundary text and blank lines: only lengths count.
  const tricky = encoder.encode('--b\r\n\r\n--b--\r\n');
  const values = new Uint8Array(Int16Array.from([-1000, 0, 3000]).buffer);
  return [
    { headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': tricky.length, 'X-Rows': 1 }, bytes: tricky },
    { headers: { 'Content-Type': 'application/json', 'Content-Length': 0 }, bytes: new Uint8Array(0) },
    { headers: { 'content-length': values.length, 'X-Data-Type': 'int16' }, bytes: values },
  ];
}

function read(bytes, chunkSize) {
  const parts = [];
  const reader = new MultipartReader('b', (part) => parts.push(part));
  for (let at = 0; at < bytes.length; at += chunkSize) reader.push(bytes.subarray(at, at + chunkSize));
  reader.end();
  return parts;
}

test('parts come out whole however the body is cut into chunks', () => {
  const parts = sample();
  const bytes = body('b', parts);
  for (const size of [1, 2, 3, 7, 16, 64, bytes.length]) {
    const read_ = read(bytes, size);
    assert.equal(read_.length, 3, `chunks of ${size}`);
    read_.forEach((part, n) => assert.deepEqual(Array.from(part.body), Array.from(parts[n].bytes), `part ${n}, chunks of ${size}`));
    assert.equal(read_[0].headers.get('x-rows'), '1');
    assert.equal(read_[2].headers.get('x-data-type'), 'int16');
  }
});

test('each body has its own buffer, so typed arrays can view it from offset 0', () => {
  const [, , frame] = read(body('b', sample()), 5);
  assert.equal(frame.body.byteOffset, 0);
  assert.deepEqual(Array.from(new Int16Array(frame.body.buffer)), [-1000, 0, 3000]);
});

test('a body cut short says after how many parts', () => {
  const bytes = body('b', sample(), { close: false });
  assert.throws(() => read(bytes, 10), /ended early, after 3 parts/);
  const half = body("b", sample()).subarray(0, 100);
  assert.throws(() => read(half, 10), /ended early, after 1 part$/);
});

test('a part without Content-Length, or a length that overruns, is malformed', () => {
  const noLength = body('b', [{ headers: { 'Content-Type': 'text/plain' }, bytes: encoder.encode('x') }]);
  assert.throws(() => read(noLength, 4), /without Content-Length/);
  const wrong = body('b', [{ headers: { 'Content-Length': 1 }, bytes: encoder.encode('xyz') }]);
  assert.throws(() => read(wrong, 4), /not followed by the boundary/);
  assert.throws(() => read(encoder.encode('<html>Service unavailable</html>'), 8), /not followed by the boundary/);
});

test('header names are case-insensitive and values trimmed', () => {
  const headers = parseHeaders('Content-Length:  12 \r\nX-Window-Center: 40\\-600');
  assert.equal(headers.get('content-length'), '12');
  assert.equal(headers.get('x-window-center'), '40\\-600');
});

test('a frame is decoded from its headers with modality min and max', () => {
  const headers = {
    'X-Data-Type': 'int16', 'X-Rows': '1', 'X-Columns': '3', 'X-Rescale-Slope': '2', 'X-Rescale-Intercept': '-1024',
    'X-Window-Center': '40\\-600', 'X-Window-Width': '400\\1500', 'X-Photometric-Interpretation': 'MONOCHROME2',
  };
  const frame = decodeFrame((name) => headers[name] || '', Int16Array.from([-1000, 0, 3000]).buffer);
  assert.equal(frame.min, -3024);
  assert.equal(frame.max, 4976);
  assert.deepEqual(frame.windows, [{ center: 40, width: 400 }, { center: -600, width: 1500 }]);
  assert.throws(() => decodeFrame(() => 'int64', new ArrayBuffer(8)), /unknown pixel data type/);
});
