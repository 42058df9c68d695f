/**
 * The browser's loading policy as a pure function (DESIGN.md "The last mile"): which
 * frames of the study to hold, best first, within a byte budget. No DOM, no I/O.
 * @module state/load-plan
 */

/** What is on screen now: each viewport's stack and where it is shown. */
export const ON_SCREEN = 0;
/** The image each series opens on (thumbnails and first views). */
export const FIRST_IMAGES = 1;
/** The rest of the series on screen, nearest the slice shown first. */
export const SHOWN_SERIES = 2;
/** The rest of the study, one image of each series in turn. */
export const BREADTH = 3;

// A frame whose size is not known yet (still on its way to the server): a CT slice.
const UNKNOWN_FRAME_BYTES = 512 * 512 * 2;
const MB = 1024 * 1024;

/** A frame's key: the instance and the 1-based frame within it. */
export function frameKey(entry) {
  return `${entry.sop_instance_uid}/${entry.frame ?? 1}`;
}

/**
 * Whether the browser can load this stack entry: it is on the server and has pixels
 * (a listed instance still on its way, or a report filed in the series, has not).
 */
export function loadable(entry) {
  return Boolean(entry) && !entry.missing && entry.rows !== null;
}

/**
 * Bytes the frame's stored values take as a typed array, estimated from its listing;
 * ``reduced``: its reduced rendition's.
 */
export function estimatedBytes(entry, reduced = false) {
  if (!entry?.rows || !entry?.columns) return UNKNOWN_FRAME_BYTES;
  if (reduced) {
    const { rows, columns } = reducedSize(entry.rows, entry.columns);
    return rows * columns * 2;
  }
  return entry.rows * entry.columns * 2;
}

/** The longest side of a reduced rendition (the server's viewer/imaging/frame_reduce.py). */
export const PREVIEW_SIDE = 1024;

/**
 * The whole factor the server reduces an image of this size by: the smallest that
 * brings its longest side to ``PREVIEW_SIDE`` or less; 1 for an image not reduced.
 */
export function reductionFactor(rows, columns) {
  const side = Math.max(rows || 0, columns || 0);
  return side > PREVIEW_SIDE ? Math.ceil(side / PREVIEW_SIDE) : 1;
}

/** The size of an image's reduced rendition: each side's blocks, a partial one counted. */
export function reducedSize(rows, columns) {
  const factor = reductionFactor(rows, columns);
  return { rows: Math.ceil(rows / factor), columns: Math.ceil(columns / factor), factor };
}

/** Whether a stack entry is large enough that a reduced rendition is shown first. */
export function wantsPreview(entry) {
  return reductionFactor(entry?.rows, entry?.columns) > 1;
}

/** The key of a frame's reduced rendition (held beside, and dropped for, the frame's). */
export function previewKey(entry) {
  return `${frameKey(entry)}/reduced`;
}

/** The index a series opens on (the middle image, as the viewport does). */
export function openingIndex(count) {
  return Math.max(0, Math.floor((count - 1) / 2));
}

/**
 * Indexes of a stack of ``count`` from ``start`` outwards, nearest first; at each
 * distance the side the person is scrolling towards (``direction`` +1 or -1) first.
 * @returns {Generator<number>}
 */
export function* nearestFirst(start, count, direction = 1) {
  if (count <= 0) return;
  const at = Math.min(Math.max(start, 0), count - 1);
  const ahead = direction < 0 ? -1 : 1;
  yield at;
  for (let distance = 1; distance < count; distance += 1) {
    for (const index of [at + ahead * distance, at - ahead * distance]) {
      if (index >= 0 && index < count) yield index;
    }
  }
}

/**
 * The frames to hold, best first, as far as ``budget`` bytes go; what is on screen is
 * always held, even beyond the budget (it is what the person is looking at). A large
 * image on screen whose frame is not held yet gets its reduced rendition first (an
 * item with ``reduced: true``), so something shows while the frame is on its way; once
 * the frame is held the rendition leaves the plan (and the loader lets it go).
 * @param {{series: Array<{uid: string, entries: object[]}>,
 *   shown: Array<{uid: string, index: number, direction?: number}>,
 *   budget: number, bytes?: (key: string, entry: object, reduced: boolean) => number,
 *   skip?: (key: string) => boolean, held?: (key: string) => boolean,
 *   listing?: boolean}} study series in strip order;
 *   shown active first; ``bytes`` the known size of a held frame; ``skip`` frames that
 *   cannot be loaded; ``held`` frames in the browser; ``listing`` while some series'
 *   listings are on their way, the plan holds only what is on screen (the first images
 *   then go in strip order, before the rest)
 * @returns {Array<{key: string, uid: string, index: number, phase: number, entry: object,
 *   reduced?: boolean}>}
 */
export function loadPlan({
  series, shown, budget, bytes = (key, entry, reduced) => estimatedBytes(entry, reduced),
  skip = () => false, held = () => false, listing = false,
}) {
  const byUid = new Map(series.map((s) => [s.uid, s]));
  const plan = [];
  const taken = new Set();
  let total = 0;
  // False once the budget is spent: the plan is a prefix, so what is dropped is the tail.
  const take = (uid, index, phase, reduced = false) => {
    const entry = byUid.get(uid)?.entries[index];
    if (!loadable(entry)) return true;
    const key = reduced ? previewKey(entry) : frameKey(entry);
    if (taken.has(key) || skip(key)) return true;
    const size = bytes(key, entry, reduced);
    if (phase !== ON_SCREEN && total + size > budget) return false;
    taken.add(key);
    total += size;
    plan.push(reduced ? { key, uid, index, phase, entry, reduced } : { key, uid, index, phase, entry });
    return true;
  };
  const visible = shown.filter((view) => byUid.has(view.uid));
  // Every viewport's preview before any full frame: each shows something soonest.
  for (const view of visible) {
    const entry = byUid.get(view.uid).entries[view.index];
    if (wantsPreview(entry) && !held(frameKey(entry))) take(view.uid, view.index, ON_SCREEN, true);
  }
  for (const view of visible) take(view.uid, view.index, ON_SCREEN);
  if (listing) return plan;
  const start = new Map(series.map((s) => [s.uid, openingIndex(s.entries.length)]));
  for (const view of [...visible].reverse()) start.set(view.uid, view.index); // the active one's wins
  for (const s of series) {
    if (!take(s.uid, start.get(s.uid), FIRST_IMAGES)) return plan;
  }
  const shownUids = [...new Set(visible.map((view) => view.uid))];
  for (const uid of shownUids) {
    const view = visible.find((v) => v.uid === uid);
    for (const index of nearestFirst(view.index, byUid.get(uid).entries.length, view.direction)) {
      if (!take(uid, index, SHOWN_SERIES)) return plan;
    }
  }
  const rest = series.filter((s) => !shownUids.includes(s.uid))
    .map((s) => ({ uid: s.uid, order: nearestFirst(start.get(s.uid), s.entries.length) }));
  while (rest.length) {
    for (let n = 0; n < rest.length; n += 1) {
      const next = rest[n].order.next();
      if (next.done) {
        rest.splice(n, 1);
        n -= 1;
      } else if (!take(rest[n].uid, next.value, BREADTH)) {
        return plan;
      }
    }
  }
  return plan;
}

/**
 * The browser's frame budget in bytes: ``overrideMb`` if given, else by the device's
 * memory (``navigator.deviceMemory``, GB, capped at 8 by browsers) and the screen:
 * a quarter of a phone's memory up to 256 MB, an eighth of a desktop's up to 1 GB.
 * @param {{deviceMemory?: number, narrow?: boolean, overrideMb?: number}} device
 * @returns {number}
 */
export function chooseBudget({ deviceMemory, narrow = false, overrideMb } = {}) {
  if (Number.isFinite(overrideMb) && overrideMb > 0) return Math.round(overrideMb * MB);
  const gigabytes = Number.isFinite(deviceMemory) && deviceMemory > 0 ? deviceMemory : (narrow ? 2 : 8);
  const megabytes = narrow ? Math.min(256, gigabytes * 256) : Math.min(1024, gigabytes * 128);
  return Math.max(64, megabytes) * MB;
}
