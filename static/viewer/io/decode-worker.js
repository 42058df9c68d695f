/**
 * A module worker that decodes JPEG-LS frames with CharLS (WASM), off the page's thread.
 * In: {id, codestream: ArrayBuffer}; out: {id, values: ArrayBuffer} or {id, error}.
 * @module io/decode-worker
 */
import CharLSWASM from '../../vendor/codecs/charlswasm_decode.mjs';

const folder = new URL('../../vendor/codecs/', import.meta.url).href;
// The .wasm is found beside the factory, not beside this script.
const codec = CharLSWASM({ locateFile: (name) => folder + name, print() {}, printErr() {} });

self.onmessage = async ({ data: { id, codestream } }) => {
  try {
    const charls = await codec;
    const decoder = new charls.JpegLSDecoder();
    try {
      decoder.getEncodedBuffer(codestream.byteLength).set(new Uint8Array(codestream));
      decoder.decode();
      // A copy out of the WASM heap, which the next decode reuses. JPEG-LS has no sign:
      // the page reads these bytes as the frame's own type (X-Data-Type).
      const bytes = decoder.getDecodedBuffer().slice();
      self.postMessage({ id, values: bytes.buffer }, [bytes.buffer]);
    } finally {
      decoder.delete();
    }
  } catch (error) {
    self.postMessage({ id, error: `JPEG-LS: ${error?.message || error}` });
  }
};
