/**
 * Multi-monitor reading, the pure part: the messages windows of one study exchange over
 * their BroadcastChannel (built and checked here, sent by io/windows.js), the next
 * window's number and series, and where on which screen it opens.
 * @module state/windows
 */

/** The kinds of message, and the fields each must carry (a message lacking one is dropped). */
const KINDS = {
  hello: [], // a window has opened (the others answer "here")
  here: [],
  bye: [],
  scroll: ['series_uid', 'sop_instance_uid'],
  cursor: ['point', 'frame_of_reference_uid', 'study_uid'],
  measurements: [],
  'key-images': [], // a key image was marked or unmarked: list them again
};

/** The channel every window of this study listens on. */
export function channelName(studyUid) {
  return `pacsweb:${studyUid}`;
}

/**
 * A message of ``kind`` from the window ``from`` (its owner name and number).
 * @param {string} kind one of hello, here, bye, scroll, cursor, measurements, key-images
 * @param {{id: string, number: number}} from
 * @param {object} [fields]
 */
export function message(kind, from, fields = {}) {
  return { ...fields, kind, from: from.id, number: from.number };
}

const isPoint = (point) => Array.isArray(point) && point.length === 3 && point.every(Number.isFinite);

/**
 * What arrived on the channel, checked: the message, or null for anything else (another
 * version's, a foreign script's, garbage); never throws.
 * @param {unknown} data
 * @returns {object|null}
 */
export function parseMessage(data) {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return null;
  const fields = KINDS[data.kind];
  if (!Object.hasOwn(KINDS, data.kind) || typeof data.from !== 'string' || !data.from) return null;
  if (!Number.isInteger(data.number) || data.number < 1) return null;
  if (!fields.every((name) => name in data)) return null;
  if (data.kind === 'scroll') {
    if (typeof data.series_uid !== 'string' || typeof data.sop_instance_uid !== 'string') return null;
    if (!Number.isInteger(data.frame ?? 1) || !Number.isInteger(data.index ?? 0)) return null;
    if (data.centre != null && !isPoint(data.centre)) return null;
  }
  if (data.kind === 'cursor') {
    // A cursor without a frame of reference could land on any patient's image: none.
    // Nor one without its study: the study filter is what keeps a cursor on its patient.
    if (!isPoint(data.point) || typeof data.frame_of_reference_uid !== 'string'
      || !data.frame_of_reference_uid || typeof data.study_uid !== 'string' || !data.study_uid) return null;
  }
  return data;
}

/**
 * The scroll message of a viewport's image: the image itself (same series follows it
 * exactly) and its centre in patient space (other series of its frame of reference
 * follow by slice position).
 * @param {{series_uid: string, study_uid: string}} series
 * @param {object} entry the stack entry shown
 * @param {number} index
 * @param {number[]|null} centre the image's centre in patient coordinates
 */
export function scrollFields(series, entry, index, centre) {
  return {
    series_uid: series.series_uid,
    study_uid: series.study_uid,
    sop_instance_uid: entry.sop_instance_uid,
    frame: entry.frame ?? 1,
    index,
    frame_of_reference_uid: entry.frame_of_reference_uid || '',
    centre: centre || null,
  };
}

/**
 * Where a scroll message takes a stack of the same series: the index of the same image
 * (by SOP instance and frame; a stack listed differently still lands right), or -1.
 */
export function sameSeriesIndex(instances, scroll) {
  return instances.findIndex((entry) => entry.sop_instance_uid === scroll.sop_instance_uid
    && (entry.frame ?? 1) === (scroll.frame ?? 1));
}

/** The smallest window number no window of the study uses (1 is the first window). */
export function nextNumber(used) {
  let n = 2;
  while (used.includes(n)) n += 1;
  return n;
}

/**
 * The series a new window opens: the first of the strip no viewport shows, else the
 * first of the strip; a prior on screen comes first (read beside the current study).
 * @param {string[]} strip the strip's series UIDs
 * @param {string[]} shown the series on screen
 * @param {{study_uid: string, series_uid: string}|null} prior a prior's series on screen
 * @returns {{series: string, prior?: string}}
 */
export function startingSeries(strip, shown, prior = null) {
  if (prior) return { series: prior.series_uid, prior: prior.study_uid };
  return { series: strip.find((uid) => !shown.includes(uid)) || strip[0] || '' };
}

/**
 * The new window's address: this viewer with its number and series.
 * @param {string} href this window's address
 * @param {number} number
 * @param {{series: string, prior?: string}} start
 */
export function windowUrl(href, number, start) {
  const url = new URL(href);
  for (const name of ['window', 'series', 'prior', 'prior_series']) url.searchParams.delete(name);
  url.searchParams.set('window', String(number));
  // A prior's series is not in this study's strip: it is opened once the prior is listed.
  if (start.prior) {
    url.searchParams.set('protocol', 'none'); // one viewport, which the prior then takes
    url.searchParams.set('prior', start.prior);
    url.searchParams.set('prior_series', start.series);
  } else if (start.series) {
    url.searchParams.set('series', start.series);
  }
  return url.href;
}

/**
 * ``window.open`` features for the new window: filling a screen other than this one's
 * (Window Management API screens), else this window's size beside it.
 * @param {{screens?: object[], currentScreen?: object}|null} details
 * @param {{screenX: number, screenY: number, outerWidth: number, outerHeight: number}} here
 */
export function windowFeatures(details, here) {
  const other = details?.screens?.find((s) => s !== details.currentScreen
    && !(s.availLeft === details.currentScreen?.availLeft && s.availTop === details.currentScreen?.availTop));
  const box = other
    ? [other.availLeft, other.availTop, other.availWidth, other.availHeight]
    : [here.screenX + 40, here.screenY + 40, here.outerWidth, here.outerHeight];
  const [left, top, width, height] = box.map((n) => Math.round(Number(n) || 0));
  return `popup,left=${left},top=${top},width=${Math.max(width, 320)},height=${Math.max(height, 320)}`;
}

/**
 * The study's measurements after a refresh another window asked for: the server's list
 * (deletions elsewhere leave), and any saved here while that list was on its way. A
 * measurement with an edit in flight here (dragged, nudged, its PATCH on its way) keeps
 * its copy here, the very object being edited: the server's is older than the screen.
 * @param {object[]} current the list now
 * @param {object[]} found the server's answer
 * @param {Set<number>} before the ids known when the list was asked for
 * @param {(id: number) => boolean} [editing] whether an edit of the measurement is in flight here
 */
export function refreshedMeasurements(current, found, before, editing = () => false) {
  const known = new Set(found.map((m) => m.id));
  const here = new Map(current.map((m) => [m.id, m]));
  const kept = found.map((m) => (here.has(m.id) && editing(m.id) ? here.get(m.id) : m));
  return [...kept, ...current.filter((m) => !known.has(m.id) && !before.has(m.id))];
}
