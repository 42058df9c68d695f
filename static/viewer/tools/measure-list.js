/**
 * The study's measurements as list entries: where each lies (series, image), what it
 * says and whose it is, in the order of the series strip. Pure: no DOM.
 * @module tools/measure-list
 */
import { labelFor } from './measure.js';
import { norm, sub } from '../math/vec3.js';
import { sameImage } from './stack.js';

/**
 * Where a measurement's points lie, for entries whose value cannot be worked out here.
 * @param {{points: number[][], label?: string}} measurement
 * @returns {string}
 */
export function pointsSummary({ points, label }) {
  const at = ([c, r]) => `(${Math.round(c)}, ${Math.round(r)})`;
  let where = at(points[0]);
  if (points.length === 2) where = `${at(points[0])}–${at(points[1])}`;
  else if (points.length > 2) where = `${at(points[0])} … ${points.length}`;
  return [label, where].filter(Boolean).join(' ');
}

/**
 * Whose a measurement is, as the list says it.
 * @param {{mine: boolean, shared: boolean, owner: string}} measurement
 * @param {{mine: string, shared: string, sharedBy: string}} text sharedBy holds %(owner)s
 * @returns {string}
 */
export function ownerText(measurement, text) {
  if (measurement.mine) return measurement.shared ? `${text.mine} · ${text.shared}` : text.mine;
  return text.sharedBy.replace('%(owner)s', measurement.owner);
}

/**
 * One entry per measurement, sorted by series (strip order), image and age.
 * @param {Array<object>} measurements as the API lists them
 * @param {string[]} seriesOrder series UIDs in strip order
 * @param {Map<string, object>} stacks series UID to its metadata with one instance
 *   entry per frame (tools/stack.js expandFrames); a series not here is still listed
 * @param {(measurement: object) => object | null} [frameFor] the decoded frame, if at hand
 * @returns {Array<{measurement: object, series: object | null, image: number | null,
 *   value: string}>} image counts from 1
 */
export function listEntries(measurements, seriesOrder, stacks, frameFor = () => null) {
  const entries = measurements.map((measurement) => {
    const series = stacks.get(measurement.series_uid) || null;
    if (measurement.space === 'patient') {
      // Drawn on MPR: its points are in mm, so its length is certain without the image.
      const [a, b] = measurement.points;
      const mm = norm(sub(b, a));
      return { measurement, series, image: null, value: [measurement.label, `${mm.toFixed(1)} mm · MPR`].filter(Boolean).join(' ') };
    }
    const index = series ? series.instances.findIndex(
      (e) => sameImage(e, measurement),
    ) : -1;
    const label = index >= 0
      ? labelFor(measurement, series.instances[index], frameFor(measurement), series.modality) : '';
    return {
      measurement, series, image: index >= 0 ? index + 1 : null, value: label || pointsSummary(measurement),
    };
  });
  const position = (uid) => {
    const at = seriesOrder.indexOf(uid);
    return at < 0 ? seriesOrder.length : at;
  };
  return entries.sort((a, b) => position(a.measurement.series_uid) - position(b.measurement.series_uid)
    || (a.image ?? Infinity) - (b.image ?? Infinity)
    || a.measurement.id - b.measurement.id);
}
