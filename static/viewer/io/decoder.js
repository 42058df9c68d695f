/**
 * JPEG-LS frames decoded by a small pool of module workers (io/decode-worker.js).
 * @module io/decoder
 */

/** The bytes' buffer when they fill it alone, else a copy of them in a buffer of their own. */
export function ownBuffer(bytes) {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
}

export class FrameDecoder {
  /** @param {number} [workers] two keep a core for the page on a small machine */
  constructor(workers = Math.max(1, Math.min(2, (navigator.hardwareConcurrency || 2) - 1))) {
    this.size = workers;
    this.workers = [];
    this.pending = new Map(); // id → {resolve, reject}
    this.next = 0;
    this.broken = null;
  }

  /** Whether this browser can decode in workers at all (else frames come raw). */
  static supported() {
    return typeof WebAssembly === 'object' && typeof Worker === 'function';
  }

  worker() {
    if (this.workers.length < this.size) {
      const worker = new Worker(new URL('./decode-worker.js', import.meta.url), { type: 'module' });
      worker.onmessage = ({ data }) => this.settle(data);
      // A worker that cannot start (codec missing) fails every frame it was given.
      worker.onerror = (event) => {
        event.preventDefault();
        this.broken = `the JPEG-LS decoder did not start (${event.message || 'no detail'})`;
        for (const [id, { reject, owner }] of this.pending) {
          if (owner === worker) {
            this.pending.delete(id);
            reject(new Error(this.broken));
          }
        }
      };
      this.workers.push(worker);
    }
    return this.workers[this.next++ % this.workers.length];
  }

  settle({ id, values, error }) {
    const waiter = this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id);
    if (error) waiter.reject(new Error(error));
    else waiter.resolve(values);
  }

  /**
   * The decoded bytes of one JPEG-LS codestream (little-endian samples).
   * @param {Uint8Array} codestream
   * @returns {Promise<ArrayBuffer>}
   */
  decode(codestream) {
    if (this.broken) return Promise.reject(new Error(this.broken));
    const id = (this.id = (this.id || 0) + 1);
    const worker = this.worker();
    const buffer = ownBuffer(codestream); // handed over, not copied
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, owner: worker });
      worker.postMessage({ id, codestream: buffer }, [buffer]);
    });
  }

  /** Let the workers go (the page is leaving the study). */
  close() {
    for (const worker of this.workers) worker.terminate();
    this.workers = [];
  }
}
