import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { framePart } from '../../../static/viewer/io/api.js';

const HEADERS = {
  'X-Rows': '2', 'X-Columns': '2', 'X-Samples-Per-Pixel': '1', 'X-Data-Type': 'int16',
  'X-Photometric-Interpretation': 'MONOCHROME2', 'X-Rescale-Slope': '1', 'X-Rescale-Intercept': '-1024',
};
const values = new Int16Array([-2000, 0, 1024, 32767]);
const header = (extra) => (name) => ({ ...HEADERS, ...extra })[name] || '';

test('it reads raw values as the type the server names', async () => {
  const frame = await framePart(header({ 'Content-Type': 'application/octet-stream' }), new Uint8Array(values.buffer.slice(0)));
  assert.deepEqual([...frame.values], [...values]);
  assert.equal(frame.min, -3024);
  assert.equal(frame.max, 31743);
});

test('it inflates a part gzipped on its own', async () => {
  const body = new Uint8Array(gzipSync(Buffer.from(values.buffer)));
  const frame = await framePart(header({ 'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip' }), body);
  assert.deepEqual([...frame.values], [...values]);
});

test('it hands JPEG-LS to the decoder and reads its bytes with the frame’s sign', async () => {
  const seen = [];
  const decoder = {
    decode: async (codestream) => {
      seen.push(codestream.length);
      return new Uint16Array(values.buffer.slice(0)).buffer; // unsigned, as JPEG-LS gives it
    },
  };
  const frame = await framePart(header({ 'Content-Type': 'image/jls' }), new Uint8Array(7), decoder);
  assert.deepEqual(seen, [7]);
  assert.deepEqual([...frame.values], [...values], 'negative values come back negative');
});

test('it refuses a JPEG-LS frame it cannot decode rather than show its bytes as pixels', async () => {
  await assert.rejects(framePart(header({ 'Content-Type': 'image/jls' }), new Uint8Array(7)), /no decoder/);
});
