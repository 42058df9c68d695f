/**
 * The frame loader: streams the whole study into the browser in the order
 * state/load-plan gives, a few requests at a time, holding frames within a budget.
 * @module io/loader
 */
import { expandFrames } from '../tools/stack.js';
import {
  ON_SCREEN, SHOWN_SERIES, estimatedBytes, frameKey, loadPlan, previewKey, wantsPreview,
} from '../state/load-plan.js';

// A request that failed this often for a frame gives up on it and says why.
const ATTEMPTS = 3;
// Images a volume's request asks for at once (the server takes up to 64).
const VOLUME_BATCH = 32;

/**
 * The series a plan item's frame is fetched from: its entry's own where the entry names
 * one (a "Key images" entry: a reference to an image of another series), else its listing's.
 * So a series of references needs no lookup table of its own to be fetched.
 */
const sourceOf = (item) => item.entry.series_uid || item.uid;

export class FrameLoader {
  /**
   * @param {{seriesUids: string[], budget: number,
   *   fetchFrame: (sopUid: string, frame: number, signal: AbortSignal) => Promise<object>,
   *   fetchBatch: (seriesUid: string, sopUids: string[],
   *     onFrame: (sopUid: string, frame: number, decoded: object) => void, signal: AbortSignal,
   *     onFailure: (sopUid: string, frame: number, why: string) => void) => Promise<void>,
   *   listSeries?: (seriesUid: string) => Promise<object>,
   *   fetchReduced?: (sopUid: string, frame: number, signal: AbortSignal,
   *     onArrived: () => void) => Promise<object>,
   *   maxRequests?: number, batchSize?: number, onChange?: () => void}} options
   *   ``fetchFrame`` and ``fetchReduced`` also get the series UID last (a prior's
   *   series are fetched under the prior's study)
   *   ``fetchReduced`` a large image's reduced rendition (``reducedBy`` > 1, or 1 when
   *   the server sent the frame whole); without it no rendition is asked for.
   *   ``onArrived``: its bytes are in (the frame's request may go while it decodes)
   *   ``listSeries`` lists a series (and hands the listing to setSeries); ``start`` lists
   *   every series of the strip with it
   *   ``maxRequests`` stays below the browser's six connections a host, leaving room for
   *   listings, thumbnails and saves
   */
  constructor(options) {
    this.options = { maxRequests: 4, batchSize: 8, ...options };
    this.budget = options.budget;
    this.order = options.seriesUids; // the strip's, read at each plan
    this.extra = []; // series listed that the strip did not name
    this.series = new Map();
    this.shown = [];
    this.views = new Map(); // window → what its viewports show (setShown)
    this.held = new Map(); // key → {frame, bytes, uid, reduced}
    this.waiting = new Map(); // key → {promise, resolve, reject}
    this.requests = new Set(); // {keys: Set, controller, rank}
    this.inFlight = new Map(); // key → request
    this.failed = new Map(); // key → why
    this.attempts = new Map();
    this.cooling = new Set(); // keys waiting out a failure before the next attempt
    this.planned = false;
    this.plan = [];
    this.listing = new Set(); // series whose listing is on its way
    this.patient = false; // whether the plan still waits for those listings
  }

  /**
   * List every series of the strip at once, so each one's first image comes early.
   * For up to ``patience`` ms the plan waits for those listings before going beyond
   * what is on screen, so the first images go in strip order; a slow listing (a long
   * series read cold) must not hold the rest of the study longer than that.
   */
  start(patience = 1000) {
    this.patient = true;
    setTimeout(() => {
      this.patient = false;
      this.schedule();
    }, patience);
    for (const uid of this.order) {
      if (this.knows(uid) || this.listing.has(uid)) continue;
      this.listing.add(uid);
      this.options.listSeries(uid).catch(() => {}).finally(() => {
        this.listing.delete(uid);
        this.schedule();
      });
    }
    this.schedule();
  }

  /** The series' listing (io/api.fetchSeriesMetadata), new or refreshed. */
  setSeries(metadata) {
    const entries = expandFrames(metadata.instances);
    if (!this.order.includes(metadata.series_uid) && !this.extra.includes(metadata.series_uid)) {
      this.extra.push(metadata.series_uid);
    }
    this.series.set(metadata.series_uid, { uid: metadata.series_uid, entries });
    this.schedule();
  }

  /** Forget a series' listing (a closed window's "Key images"): its frames leave the plan. */
  dropSeries(seriesUid) {
    this.series.delete(seriesUid);
    this.extra = this.extra.filter((uid) => uid !== seriesUid);
    this.schedule();
  }

  /** Whether the series' listing is known. */
  knows(seriesUid) {
    return Boolean(this.series.get(seriesUid)?.entries.length);
  }

  /**
   * What each viewport of a window shows, active first. A loader shared by several
   * windows (io/windows.js) plans for all: the opener's views first, then the others'.
   * @param {Array<{uid: string, index: number, direction?: number}>} shown
   * @param {string} [owner] the window ('main': the one that made the loader)
   */
  setShown(shown, owner = 'main') {
    // Copied into this realm: a closed window's arrays must not be what the plan reads.
    const views = shown.filter((view) => view.uid).map((view) => ({ ...view }));
    if (views.length) this.views.set(owner, views);
    else this.views.delete(owner);
    this.shown = [...(this.views.get('main') || []),
      ...[...this.views].filter(([name]) => name !== 'main').flatMap(([, list]) => list)];
    this.schedule();
  }

  /** An instance has just landed on the server (a live progress message). */
  landed(seriesUid, sopUid) {
    const series = this.series.get(seriesUid);
    if (!series) return;
    let changed = false;
    series.entries = series.entries.map((entry) => {
      if (entry.sop_instance_uid !== sopUid || !entry.missing) return entry;
      changed = true;
      return { ...entry, missing: false };
    });
    // A refusal from before it landed ("no such image") no longer holds: ask again.
    for (const key of [...this.failed.keys()].filter((k) => k.startsWith(`${sopUid}/`))) {
      this.failed.delete(key);
      this.attempts.delete(key);
      changed = true;
    }
    if (changed) this.schedule();
  }

  /** The promise of what arrives under ``key`` (made on the first ask); plans again. */
  waitFor(key) {
    if (!this.waiting.has(key)) {
      const waiter = {};
      waiter.promise = new Promise((resolve, reject) => Object.assign(waiter, { resolve, reject }));
      this.waiting.set(key, waiter);
    }
    this.schedule();
    return this.waiting.get(key).promise;
  }

  /** The frame of this stack entry, now if it is held, else when it arrives. */
  frame(entry) {
    const key = frameKey(entry);
    const held = this.held.get(key);
    if (held) return Promise.resolve(held.frame);
    if (this.failed.has(key)) return Promise.reject(new Error(this.failed.get(key)));
    return this.waitFor(key);
  }

  /**
   * Every frame of a series' stack (a volume for MPR): those held at once, the rest in
   * batches, two requests at a time. The volume keeps its own frames: they do not count
   * against the budget, and the study's streaming goes on beside it.
   * @param {string} seriesUid
   * @param {object[]} entries the stack, one entry a frame
   * @param {(sopUid: string, frameNumber: number, frame: object) => void} onFrame
   * @param {AbortSignal} [signal]
   * @returns {Promise<void>} rejects naming the first image that could not be had
   */
  async loadAll(seriesUid, entries, onFrame, signal) {
    const wanted = new Map(); // series fetched from → its images not held
    for (const entry of entries) {
      const held = this.heldFrame(entry);
      const source = sourceOf({ entry, uid: seriesUid });
      if (!wanted.has(source)) wanted.set(source, []);
      if (held) onFrame(entry.sop_instance_uid, entry.frame ?? 1, held);
      else if (!wanted.get(source).includes(entry.sop_instance_uid)) wanted.get(source).push(entry.sop_instance_uid);
    }
    const failures = [];
    const noteFailure = (sopUid, number, why) => failures.push(`image ${sopUid}, frame ${number}: ${why}`);
    const batches = [];
    for (const [source, sopUids] of wanted) {
      for (let n = 0; n < sopUids.length; n += VOLUME_BATCH) batches.push([source, sopUids.slice(n, n + VOLUME_BATCH)]);
    }
    const fetchRest = async () => {
      while (batches.length) {
        const [source, sopUids] = batches.shift();
        await this.options.fetchBatch(source, sopUids, onFrame, signal, noteFailure);
      }
    };
    await Promise.all([fetchRest(), fetchRest()]);
    if (failures.length) throw new Error(failures[0]);
  }

  /**
   * The reduced rendition of a large image's frame while the frame itself is not here:
   * now if held, else when it arrives; null when there is none to wait for (the frame
   * is held, the image is small, or the rendition failed). Rejects (AbortError) when
   * the frame arrived first.
   */
  preview(entry) {
    const key = previewKey(entry);
    const held = this.held.get(key);
    if (held) return Promise.resolve(held.frame);
    if (!this.options.fetchReduced || !wantsPreview(entry) || this.held.has(frameKey(entry))
      || this.failed.has(key)) {
      return Promise.resolve(null);
    }
    return this.waitFor(key);
  }

  /** The frame if it is held now, else undefined (never a reduced rendition). */
  heldFrame(entry) {
    return this.held.get(frameKey(entry))?.frame;
  }

  /** How much of the study is in the browser, for the strip and the benchmark. */
  stats() {
    const series = {};
    for (const [uid, { entries }] of this.series) {
      series[uid] = { held: 0, images: entries.filter((e) => e.rows !== null).length, bytes: 0 };
    }
    let bytes = 0;
    let previews = 0;
    for (const { uid, bytes: size, reduced } of this.held.values()) {
      bytes += size; // a reduced rendition counts against the budget too
      if (reduced) {
        previews += 1;
      } else if (series[uid]) {
        series[uid].held += 1;
        series[uid].bytes += size;
      }
    }
    return {
      budget: this.budget, bytes, frames: this.held.size - previews, previews, requests: this.requests.size,
      unlisted: this.order.filter((uid) => !this.knows(uid)).length,
      wanted: this.plan.filter((p) => !this.held.has(p.key)).length, series,
    };
  }

  /** Plan again once the current task is done (many changes, one plan). */
  schedule() {
    if (this.planned) return;
    this.planned = true;
    queueMicrotask(() => {
      this.planned = false;
      this.run();
    });
  }

  run() {
    const series = [...this.order, ...this.extra].map((uid) => this.series.get(uid)).filter(Boolean);
    this.plan = loadPlan({
      series,
      shown: this.shown,
      budget: this.budget,
      bytes: (key, entry, reduced) => this.held.get(key)?.bytes ?? estimatedBytes(entry, reduced),
      skip: (key) => this.failed.has(key),
      // Without a way to ask for reduced renditions, none is planned.
      held: (key) => !this.options.fetchReduced || this.held.has(key),
      listing: this.patient && this.listing.size > 0,
    });
    const rank = new Map(this.plan.map((p, n) => [p.key, n]));
    // Farthest from what is shown goes first: whatever the plan no longer holds (and a
    // reduced rendition once its frame is here).
    for (const key of this.held.keys()) if (!rank.has(key)) this.held.delete(key);
    for (const [key, waiter] of this.waiting) {
      if (!rank.has(key) && !this.inFlight.has(key)) {
        this.waiting.delete(key);
        waiter.reject(Object.assign(new Error('no longer wanted'), { name: 'AbortError' }));
      }
    }
    // A request whose frames are no longer wanted is given up (not one that has brought
    // them all and is only ending its body: that would drop the connection).
    for (const request of this.requests) {
      if (request.keys.size && ![...request.keys].some((key) => rank.has(key))) request.controller.abort();
    }
    // A frame waits for its reduced rendition, planned or on the way: they would share
    // the link, and the rendition is what the person sees first (the frame comes as
    // soon either way). Not once the rendition's bytes are in (it is being decoded),
    // nor for one that failed and waits to be asked again.
    const previewFirst = (p) => {
      const key = previewKey(p.entry);
      return !p.reduced && rank.has(key) && !this.held.has(key) && !this.cooling.has(key)
        && !this.inFlight.get(key)?.arrived;
    };
    const wanted = this.plan.filter((p) => !this.held.has(p.key) && !this.inFlight.has(p.key)
      && !this.cooling.has(p.key) && !previewFirst(p));
    // Something on screen waits behind the study's tail: the worst request makes room.
    if (wanted[0]?.phase === ON_SCREEN && this.requests.size >= this.options.maxRequests) {
      const worst = [...this.requests].reduce((a, b) => (b.rank > a.rank ? b : a));
      if (worst.phase !== ON_SCREEN) this.cancel(worst);
    }
    while (wanted.length && this.requests.size < this.options.maxRequests) {
      this.send(this.takeBatch(wanted), rank);
    }
  }

  /** The next request's frames: the first wanted one and, beyond the first views,
   *  the next few single-frame images of the same series. */
  takeBatch(wanted) {
    const [first] = wanted.splice(0, 1);
    const batch = [first];
    if (first.phase < SHOWN_SERIES || (first.entry.frames || 1) > 1) return batch;
    for (let n = 0; n < wanted.length && n < 64 && batch.length < this.options.batchSize; n += 1) {
      const next = wanted[n];
      if (next.uid === first.uid && sourceOf(next) === sourceOf(first) && (next.entry.frames || 1) === 1
        && next.phase >= SHOWN_SERIES) {
        batch.push(next);
        wanted.splice(n, 1);
        n -= 1;
      }
    }
    return batch;
  }

  send(batch, rank) {
    if (batch[0].reduced) {
      this.sendPreview(batch[0], rank);
      return;
    }
    const controller = new AbortController();
    const [{ entry, uid }] = batch;
    const source = sourceOf(batch[0]);
    const single = batch.length === 1 && (entry.frames || 1) === 1 && batch[0].phase < SHOWN_SERIES;
    const sopUids = [...new Set(batch.map((p) => p.entry.sop_instance_uid))];
    // An instance comes whole: every frame of a multi-frame image is on its way with it.
    const keys = single ? [batch[0].key] : this.series.get(uid).entries
      .filter((e) => sopUids.includes(e.sop_instance_uid)).map(frameKey);
    const request = { keys: new Set(keys), controller, rank: rank.get(batch[0].key), phase: batch[0].phase };
    this.requests.add(request);
    for (const key of request.keys) this.inFlight.set(key, request);
    const onFrame = (sopUid, number, decoded) => this.receive(request, `${sopUid}/${number}`, batch[0].uid, decoded);
    // One image the server cannot decode fails alone; the rest of the batch comes.
    const onFailure = (sopUid, number, why) => {
      const key = `${sopUid}/${number}`;
      request.keys.delete(key);
      if (this.inFlight.get(key) === request) this.inFlight.delete(key);
      this.fail(key, why);
    };
    const done = single
      ? this.options.fetchFrame(entry.sop_instance_uid, entry.frame ?? 1, controller.signal, source)
        .then((decoded) => onFrame(entry.sop_instance_uid, entry.frame ?? 1, decoded))
      : this.options.fetchBatch(source, sopUids, onFrame, controller.signal, onFailure);
    done.then(() => this.finish(request, null), (error) => this.finish(request, error));
  }

  /** Ask for one large image's reduced rendition, alone. */
  sendPreview(item, rank) {
    const controller = new AbortController();
    const request = { keys: new Set([item.key]), controller, rank: rank.get(item.key), phase: item.phase };
    this.requests.add(request);
    this.inFlight.set(item.key, request);
    const { entry, uid } = item;
    const arrived = () => {
      request.arrived = true;
      this.schedule();
    };
    const done = this.options.fetchReduced(entry.sop_instance_uid, entry.frame ?? 1, controller.signal, arrived,
      sourceOf(item))
      .then((decoded) => {
        if ((decoded.reducedBy || 1) > 1) {
          this.receive(request, item.key, uid, decoded, true);
          return;
        }
        // The server found the image small enough: this is the frame itself.
        this.receive(request, frameKey(entry), uid, decoded);
        request.keys.delete(item.key);
        this.inFlight.delete(item.key);
        this.failed.set(item.key, 'not reduced');
        this.settle(item.key, null);
      });
    done.then(() => this.finish(request, null), (error) => this.finish(request, error));
  }

  /** Resolve whoever waits for ``key``. */
  settle(key, value) {
    const waiter = this.waiting.get(key);
    if (waiter) {
      this.waiting.delete(key);
      waiter.resolve(value);
    }
  }

  receive(request, key, uid, decoded, reduced = false) {
    this.held.set(key, { frame: decoded, bytes: decoded.values.byteLength, uid, reduced });
    request.keys.delete(key);
    if (this.inFlight.get(key) === request) this.inFlight.delete(key);
    this.attempts.delete(key);
    this.settle(key, decoded);
    this.options.onChange?.();
  }

  cancel(request) {
    request.controller.abort();
    this.release(request);
  }

  release(request) {
    this.requests.delete(request);
    for (const key of request.keys) if (this.inFlight.get(key) === request) this.inFlight.delete(key);
  }

  finish(request, error) {
    const cancelled = request.controller.signal.aborted;
    this.release(request);
    if (error && !cancelled) {
      for (const key of request.keys) this.failOnce(key, error);
    } else if (!error) {
      // A whole answer that lacks a frame: the server has nothing for it.
      for (const key of request.keys) this.fail(key, 'the server sent no such frame');
    }
    this.schedule();
  }

  failOnce(key, error) {
    const attempts = (this.attempts.get(key) || 0) + 1;
    this.attempts.set(key, attempts);
    // The server's refusal (no such image, cannot decode) will not change on asking again.
    if (attempts >= ATTEMPTS || error.permanent) {
      this.fail(key, error.message);
      return;
    }
    // Try again after a pause (1 s, then 2 s), not at once into the same trouble.
    this.cooling.add(key);
    setTimeout(() => {
      this.cooling.delete(key);
      this.schedule();
    }, 1000 * attempts);
  }

  fail(key, why) {
    this.failed.set(key, why);
    const waiter = this.waiting.get(key);
    if (waiter) {
      this.waiting.delete(key);
      waiter.reject(new Error(why));
    }
  }
}

