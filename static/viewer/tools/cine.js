/**
 * The cine rate: the person's choice when they made one, else the file's, else 10 fps.
 * @module tools/cine
 */

export const DEFAULT_FPS = 10;
// requestAnimationFrame paces the loop: faster than the screen cannot be shown.
const MIN_FPS = 1;
const MAX_FPS = 60;

/**
 * Frames per second the file states for an image (Recommended Display Frame Rate, Cine
 * Rate, Frame Time or Frame Time Vector, as the server read them), or null.
 * @param {{cine_fps?: number | null} | null | undefined} entry a stack entry
 * @returns {number | null}
 */
export function fileFps(entry) {
  const fps = entry?.cine_fps;
  return Number.isFinite(fps) && fps > 0 ? fps : null;
}

/**
 * Frames per second to play at, within 1 to 60.
 * @param {number | null} chosen what the person typed, or null when they have not
 * @param {object | null | undefined} entry the image on screen
 * @returns {{fps: number, source: 'person' | 'file' | 'default'}}
 */
export function cineRate(chosen, entry) {
  const clamp = (fps) => Math.min(Math.max(fps, MIN_FPS), MAX_FPS);
  if (chosen != null && Number.isFinite(chosen) && chosen > 0) return { fps: clamp(chosen), source: 'person' };
  const file = fileFps(entry);
  return file ? { fps: clamp(file), source: 'file' } : { fps: DEFAULT_FPS, source: 'default' };
}
