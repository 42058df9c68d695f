/**
 * Stack navigation as pure state transitions (no DOM).
 * @module tools/stack
 */

/**
 * Whether two things name the same image: a stack entry, a measurement or a cursor
 * with ``sop_instance_uid`` and ``frame``.
 * @returns {boolean}
 */
export function sameImage(a, b) {
  return Boolean(a && b) && a.sop_instance_uid === b.sop_instance_uid && a.frame === b.frame;
}

/**
 * Clamp an index into a stack of ``count`` images.
 * @param {number} index
 * @param {number} count
 * @returns {number}
 */
export function clampIndex(index, count) {
  if (count <= 0) return 0;
  return Math.min(Math.max(Math.round(index), 0), count - 1);
}

/**
 * The index after a key press, or null when the key does not navigate.
 * @param {string} key KeyboardEvent.key
 * @param {number} index current index
 * @param {number} count images in the stack
 * @returns {number | null}
 */
export function indexForKey(key, index, count) {
  const page = Math.max(1, Math.round(count / 10));
  const moves = {
    ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, PageDown: page, PageUp: -page,
  };
  if (key === 'Home') return 0;
  if (key === 'End') return clampIndex(count - 1, count);
  if (key in moves) return clampIndex(index + moves[key], count);
  return null;
}

/**
 * The index after wheel movement; one notch (any size) moves one image.
 * @param {number} deltaY WheelEvent.deltaY
 * @param {number} index
 * @param {number} count
 * @returns {number}
 */
export function indexForWheel(deltaY, index, count) {
  if (deltaY === 0) return index;
  return clampIndex(index + Math.sign(deltaY), count);
}

/**
 * One stack entry per frame: multi-frame instances become several entries.
 * A frame's own position is not in the series metadata, so frames of a multi-frame
 * instance carry no position (nothing is shown rather than a wrong one).
 * @param {Array<{sop_instance_uid: string, frames: number, position: number[] | null}>} instances
 * @returns {Array<object>} entries with ``frame`` (1-based) added
 */
export function expandFrames(instances) {
  return instances.flatMap((instance) => {
    // An entry that names its frame already (a key image's frame) stays one entry.
    if (instance.frame) return [{ ...instance }];
    const frames = Math.max(1, instance.frames || 1);
    if (frames === 1) return [{ ...instance, frame: 1 }];
    return Array.from({ length: frames }, (_, i) => ({ ...instance, frame: i + 1, position: null }));
  });
}
