/**
 * Live study state as pure functions: reconnection delays, series progress, focus
 * messages and merging a refreshed series into the one on screen (no DOM).
 * @module tools/progress
 */
import { sameImage } from './stack.js';

/**
 * Seconds before reconnection attempt ``attempt`` (0-based): doubling from 1 s to 30 s,
 * with up to 20 % jitter from ``random`` so many viewers do not return at once.
 * @param {number} attempt
 * @param {() => number} [random]
 * @returns {number}
 */
export function backoffSeconds(attempt, random = Math.random) {
  const base = Math.min(30, 2 ** Math.max(0, attempt));
  return base * (1 + 0.2 * random());
}

/**
 * Series progress after a live message; unknown series are added.
 * @param {Map<string, {total: number, done: number, failed: number, state?: string}>} series
 * @param {object} message a ``snapshot`` or ``progress`` message of the live schema
 * @returns {Map<string, object>} a new map
 */
export function applyMessage(series, message) {
  const next = new Map(series);
  if (message.type === 'snapshot') {
    for (const entry of message.series || []) next.set(entry.uid, { ...entry });
  } else if (message.type === 'progress') {
    const old = next.get(message.series) || { uid: message.series, failed: 0 };
    next.set(message.series, {
      ...old, done: message.done, total: message.total, failed: message.failed ?? old.failed,
      bytes: message.bytes,
    });
  }
  return next;
}

/**
 * What a series' progress bar shows: percentage, label and a state word.
 * @param {{total: number, done: number, failed?: number}} entry
 * @returns {{percent: number, label: string, state: string}}
 */
export function progressView(entry) {
  const total = Math.max(0, entry.total || 0);
  const done = Math.min(Math.max(0, entry.done || 0), total);
  const failed = entry.failed || 0;
  const percent = total ? Math.round((100 * done) / total) : 0;
  let state = 'loading';
  if (total && done >= total) state = 'complete';
  else if (failed && done + failed >= total) state = 'failed';
  return { percent, label: `${done} / ${total}`, state, failed };
}

/**
 * The focus message for what is on screen: the active viewport's series first, then the
 * other visible ones, each with the listing position (its place in the node's order) of
 * the image shown.
 * @param {Array<{seriesUid: string | null, listingPosition: number | null}>} shown viewports,
 *   active first
 * @returns {{type: 'focus', series: string[], listing_position: Object<string, number>}}
 */
export function focusMessage(shown) {
  const series = [];
  const positions = {};
  for (const { seriesUid, listingPosition } of shown) {
    if (!seriesUid || series.includes(seriesUid)) continue;
    series.push(seriesUid);
    if (Number.isInteger(listingPosition)) positions[seriesUid] = listingPosition;
  }
  return { type: 'focus', series, listing_position: positions };
}

/**
 * The stack index to keep after a series is refreshed: the same instance and frame if
 * it is still there, else the same place.
 * @param {Array<{sop_instance_uid: string, frame: number}>} before
 * @param {Array<{sop_instance_uid: string, frame: number}>} after
 * @param {number} index
 * @returns {number}
 */
export function keptIndex(before, after, index) {
  const current = before[index];
  if (current) {
    const found = after.findIndex((e) => sameImage(e, current));
    if (found >= 0) return found;
  }
  return Math.min(Math.max(index, 0), Math.max(after.length - 1, 0));
}
