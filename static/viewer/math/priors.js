/**
 * Priors beside the current study: which prior to compare with, which of its series
 * matches the series on screen, and which prior slice lies at the current slice's
 * position (exactly in one frame of reference, approximately across two). Pure: plain
 * data in (the priors API's entries, series listings), numbers out; no DOM.
 * @module math/priors
 */

import { cross, dot, norm } from './vec3.js';

// Stacks whose normals differ by more than this are not linked: a slice position along
// one says nothing about the other (an axial beside a sagittal).
export const LINK_MAX_ANGLE_DEGREES = 30;
// Within this angle two series count as the same orientation when matching.
const SAME_ORIENTATION_DEGREES = 10;

/**
 * The priors newest first (study date, then as listed); those without a date last.
 * @param {Array<{study_date: string|null}>} priors
 * @returns {object[]} a new array
 */
export function newestFirst(priors) {
  return priors
    .map((prior, order) => ({ prior, order }))
    .sort((a, b) => {
      const [x, y] = [a.prior.study_date || '', b.prior.study_date || ''];
      if (x !== y) return x < y ? 1 : -1; // '' sorts last
      return a.order - b.order;
    })
    .map(({ prior }) => prior);
}

/**
 * The prior "Compare" hangs: the most recent comparable one that is here (a remote one
 * has no series to hang until it is retrieved); null when there is none.
 * @param {Array<{comparable: boolean, where: string, study_date: string|null}>} priors
 */
export function comparePrior(priors) {
  return newestFirst(priors).find((p) => p.comparable && p.where === 'local') || null;
}

/** The unit normal of an ImageOrientationPatient, or null without one. */
export function sliceNormal(orientation) {
  if (!orientation || orientation.length < 6) return null;
  const normal = cross(orientation.slice(0, 3), orientation.slice(3, 6));
  const length = norm(normal);
  return length < 1e-6 ? null : normal.map((v) => v / length);
}

/** The angle between two slice normals in degrees, the sense ignored (0..90). */
function angleBetween(a, b) {
  return (Math.acos(Math.min(1, Math.abs(dot(a, b)))) * 180) / Math.PI;
}

/** Lower-case words of a description ("AX T2 FLAIR" → ax, t2, flair). */
function words(text) {
  return new Set(String(text || '').toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean));
}

/** How alike two descriptions are: shared words over all words (0..1), 1 when both empty. */
export function descriptionLikeness(a, b) {
  const [x, y] = [words(a), words(b)];
  if (!x.size && !y.size) return 1;
  const shared = [...x].filter((w) => y.has(w)).length;
  return shared / (x.size + y.size - shared);
}

/**
 * The prior series that best matches ``current`` (the active viewport's series). The
 * rule, in order: the same modality (required: a CT is never matched with an MR);
 * then the same orientation (slice normals within 10°; unknown orientation counts as
 * not the same); then the closest description (shared words); then the closer number
 * of images; then the prior's strip order. Null when no series shares the modality.
 * @param {{modality: string, description?: string, orientation?: number[]|null,
 *   count?: number}} current
 * @param {Array<{series_uid: string, modality: string, description?: string,
 *   orientation?: number[]|null, count?: number}>} candidates in the prior's strip order
 * @returns {object|null} the chosen candidate
 */
export function matchSeries(current, candidates) {
  const normal = sliceNormal(current.orientation);
  const scored = candidates
    .map((candidate, order) => {
      const other = sliceNormal(candidate.orientation);
      return {
        candidate,
        order,
        oriented: normal && other && angleBetween(normal, other) <= SAME_ORIENTATION_DEGREES ? 1 : 0,
        alike: descriptionLikeness(current.description, candidate.description),
        countGap: Math.abs((candidate.count ?? 0) - (current.count ?? 0)),
      };
    })
    .filter(({ candidate }) => candidate.modality && candidate.modality === current.modality);
  scored.sort((a, b) => b.oriented - a.oriented || b.alike - a.alike || a.countGap - b.countGap || a.order - b.order);
  return scored[0]?.candidate || null;
}

/**
 * Where each slice of a stack lies along its normal (mm): ImagePositionPatient
 * projected on the normal of the first slice's orientation. Null when the stack does
 * not say where its slices are.
 * @param {Array<{position: number[]|null, orientation: number[]|null}>} stack
 * @returns {{normal: number[], positions: Array<number|null>}|null}
 */
export function slicePositions(stack) {
  const normal = sliceNormal(stack[0]?.orientation);
  if (!normal) return null;
  const positions = stack.map((entry) => (entry.position?.length === 3 ? dot(entry.position, normal) : null));
  return positions.some((p) => p !== null) ? { normal, positions } : null;
}

/** The index whose position is nearest ``wanted``, or -1. */
function nearestIndex(positions, wanted) {
  let best = -1;
  let distance = Infinity;
  positions.forEach((p, index) => {
    if (p === null) return;
    const d = Math.abs(p - wanted);
    if (d < distance) { best = index; distance = d; }
  });
  return best;
}

/**
 * Whether two studies' patients (as the hangings API names them) are the same for a
 * prior: the same non-empty Patient ID and exactly the same issuer (both empty, or
 * equal). An answer that leaves either out is not the same: it cannot be told apart.
 * @param {{patient_id?: string, issuer_of_patient_id?: string}} a
 * @param {{patient_id?: string, issuer_of_patient_id?: string}} b
 * @returns {boolean}
 */
export function samePatient(a, b) {
  const known = (p) => typeof p?.patient_id === 'string' && p.patient_id !== ''
    && typeof p.issuer_of_patient_id === 'string';
  return known(a) && known(b) && a.patient_id === b.patient_id
    && a.issuer_of_patient_id === b.issuer_of_patient_id;
}

/**
 * The slice of ``target`` that lies at the position of ``source[sourceIndex]``.
 *
 * In one frame of reference (of one study, with a Frame of Reference UID on both) the
 * positions are compared as they are: the nearest slice is exact. Across two frames of reference (a prior from another visit) the
 * coordinates are not registered: each stack is measured from its own first slice
 * along the normal (its lowest position), and the slice at the same distance from the
 * target's first slice is taken; ``approximate`` says so, for the person to be told.
 * Null when either stack lacks positions, or the two are not parallel within
 * LINK_MAX_ANGLE_DEGREES.
 * @param {Array<object>} source the stack scrolled (entries with position,
 *   orientation, frame_of_reference_uid)
 * @param {number} sourceIndex
 * @param {Array<object>} target the stack that follows
 * @param {{sameStudy?: boolean}} [options] sameStudy: false when the stacks are of two
 *   studies, which are never taken as one frame of reference (always approximate)
 * @returns {{index: number, approximate: boolean}|null}
 */
export function linkedSlice(source, sourceIndex, target, { sameStudy = true } = {}) {
  const from = slicePositions(source);
  const to = slicePositions(target);
  const here = from?.positions[sourceIndex];
  if (!from || !to || here === null || here === undefined) return null;
  if (angleBetween(from.normal, to.normal) > LINK_MAX_ANGLE_DEGREES) return null;
  const sameFrame = sameStudy && Boolean(source[0].frame_of_reference_uid)
    && source[0].frame_of_reference_uid === target[0].frame_of_reference_uid;
  // The target's normal may point the other way: measure along it in the source's sense.
  const sense = dot(from.normal, to.normal) < 0 ? -1 : 1;
  if (sameFrame) return { index: nearestIndex(to.positions, sense * here), approximate: false };
  const lowest = (positions) => Math.min(...positions.filter((p) => p !== null));
  const highest = (positions) => Math.max(...positions.filter((p) => p !== null));
  const offset = here - lowest(from.positions);
  const start = sense > 0 ? lowest(to.positions) : highest(to.positions);
  return { index: nearestIndex(to.positions, start + sense * offset), approximate: true };
}
