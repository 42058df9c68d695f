/**
 * JPEG-LS frames decoded by a small pool of module workers (io/decode-worker.js).
 * @module io/decoder
 */

/** The bytes' buffer when they fill it alone, else a copy of them in a buffer of their own. */
export function ownBuffer(bytes) {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
}

/**
 * The decoder workers the viewer page started while its modules loaded (templates/viewer/
 * viewer.html), taken once: the first frame need not wait for the codec to load then.
 * @returns {Worker[]}
 */
export function takeStartedWorkers(scope = globalThis) {
  const started = scope.pacswebDecodeWorkers || [];
  delete scope.pacswebDecodeWorkers;
  return started;
}

export class FrameDecoder {
  /**
   * @param {number} [workers] two keep a core for the page on a small machine
   * @param {{started?: Worker[]}} [options] workers already started (takeStartedWorkers)
   */
  constructor(workers = Math.max(1, Math.min(2, (navigator.hardwareConcurrency || 2) - 1)), { started = [] } = {}) {
    this.size = workers;
    this.workers = [];
    this.pending = new Map(); // id → {resolve, reject}
    this.next = 0;
    this.broken = null;
    for (const worker of started) {
      if (this.workers.length < this.size) this.adopt(worker);
      else worker.terminate();
    }
  }

  /** Whether this browser can decode in workers at all (else frames come raw). */
  static supported() {
    return typeof WebAssembly === 'object' && typeof Worker === 'function';
  }

  /** The worker for the next frame: round the pool, each started when first needed. */
  worker() {
    const index = this.next++ % this.size;
    if (index >= this.workers.length) {
      this.adopt(new Worker(new URL('./decode-worker.js', import.meta.url), { type: 'module' }));
    }
    return this.workers[Math.min(index, this.workers.length - 1)];
  }

  /** Hear a worker's answers and its failure to start (the page may have seen it already). */
  adopt(worker) {
    worker.onmessage = ({ data }) => this.settle(data);
    // A worker that cannot start (codec missing) fails every frame it was given.
    worker.onerror = (event) => {
      event.preventDefault();
      this.fail(worker, event.message);
    };
    this.workers.push(worker);
    if (worker.startFailure !== undefined) this.fail(worker, worker.startFailure);
  }

  fail(worker, message) {
    this.broken = `the JPEG-LS decoder did not start (${message || 'no detail'})`;
    for (const [id, { reject, owner }] of this.pending) {
      if (owner === worker) {
        this.pending.delete(id);
        reject(new Error(this.broken));
      }
    }
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
