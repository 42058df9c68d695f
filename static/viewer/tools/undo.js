/**
 * Changes to saved measurements, taken back and done again: each drawing, move (or run
 * of nudges) and deletion is one step; undo restores exactly what that step changed and
 * redo repeats it. No DOM: the server and the screen are reached through hooks.
 * @module tools/undo
 */
import { changed, moveBy } from './edit.js';

export const NUDGE_REST_MS = 400;

const copy = (points) => points.map((p) => [...p]);
const snapshot = (measurement) => ({ ...measurement, points: copy(measurement.points) });

export class MeasurementEdits {
  /**
   * @param {{update: (id: number, body: object) => Promise<object>,
   *   remove: (id: number) => Promise<void>, create: (measurement: object) => Promise<object>,
   *   find: (id: number) => object | undefined, changed: () => void,
   *   failed: (message: string) => void}} hooks ``create`` saves a copy of a measurement
   *   again and returns it as saved (with a new id); ``remove`` deletes one.
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.steps = [];
    this.undone = [];
    this.saving = Promise.resolve();
    this.nudging = null;
    this.busy = Promise.resolve();
    this.unsaved = new Map(); // measurement id → PATCHes asked for and not yet answered
  }

  /** Whether a change to the measurement is still here only (nudged, or its PATCH on its way). */
  inFlight(id) {
    return this.nudging?.measurement.id === id || this.unsaved.has(id);
  }

  get canUndo() {
    return this.steps.length > 0 || this.nudging !== null;
  }

  get canRedo() {
    return this.undone.length > 0 && this.nudging === null;
  }

  /** Record a new step; what was undone before it can no longer be redone. */
  record(step) {
    this.steps.push(step);
    this.undone = [];
  }

  /** A measurement was drawn and saved: undo deletes it, redo draws it again. */
  created(measurement) {
    this.rest();
    this.record({ type: 'create', id: measurement.id, measurement: snapshot(measurement) });
  }

  /** A measurement was deleted: undo saves it again, redo deletes it again. */
  deleted(measurement) {
    this.rest();
    this.record({ type: 'delete', id: measurement.id, measurement: snapshot(measurement) });
  }

  /** A measurement was dragged from ``before`` to the points it has now. */
  moved(measurement, before) {
    this.rest();
    this.record({ type: 'move', id: measurement.id, before: copy(before), after: copy(measurement.points) });
    this.save(measurement, before);
    this.hooks.changed();
  }

  /** Move ``measurement`` by ``[dx, dy]`` now; it is saved when the keys rest. */
  nudge(measurement, [dx, dy]) {
    if (this.nudging?.measurement !== measurement) {
      this.rest();
      const step = { type: 'move', id: measurement.id, before: copy(measurement.points), after: null };
      this.nudging = { measurement, step, timer: 0 };
      this.record(step);
    }
    measurement.points = moveBy(measurement.points, dx, dy);
    clearTimeout(this.nudging.timer);
    this.nudging.timer = setTimeout(() => this.rest(), NUDGE_REST_MS);
    this.hooks.changed();
  }

  /** Save a run of nudges now. */
  rest() {
    if (!this.nudging) return;
    clearTimeout(this.nudging.timer);
    const { measurement, step } = this.nudging;
    this.nudging = null;
    step.after = copy(measurement.points);
    this.save(measurement, step.before);
  }

  /**
   * A drawing or deletion on its way to the server: undo and redo wait for it, so a
   * Ctrl+Z pressed before the answer takes back that step, not the one before it.
   * @param {Promise} saving settles once the step is recorded (or refused)
   */
  track(saving) {
    this.busy = this.busy.then(() => saving).catch(() => {});
    return saving;
  }

  /** Take back the last step whose measurement is still there to change. */
  undo() {
    this.rest();
    this.busy = this.busy.then(() => this.apply(this.steps, this.undone, 'back'));
    return this.busy;
  }

  /** Do again the last step taken back. */
  redo() {
    this.rest();
    this.busy = this.busy.then(() => this.apply(this.undone, this.steps, 'forth'));
    return this.busy;
  }

  /** Pop a step from ``from``, play it ``way``, and push it on ``to`` if it took effect. */
  async apply(from, to, way) {
    while (from.length) {
      const step = from.pop();
      try {
        if (await this.play(step, way)) {
          to.push(step);
          return;
        }
      } catch (error) {
        from.push(step); // nothing changed: the step can be tried again
        this.hooks.failed(error.message);
        return;
      }
    }
  }

  /** Play one step; false when its measurement is gone (deleted some other way). */
  async play(step, way) {
    const appear = (step.type === 'delete') === (way === 'back');
    if (step.type !== 'move' && appear) {
      const saved = await this.hooks.create(step.measurement);
      this.renumber(step.id, saved.id);
      step.id = saved.id;
      step.measurement.id = saved.id;
      this.hooks.changed();
      return true;
    }
    const measurement = this.hooks.find(step.id);
    if (!measurement) return false;
    if (step.type !== 'move') {
      await this.hooks.remove(step.id);
      this.hooks.changed();
      return true;
    }
    const before = measurement.points;
    measurement.points = copy(way === 'back' ? step.before : step.after);
    this.hooks.changed();
    await this.save(measurement, before);
    return true;
  }

  /** A measurement saved again gets a new id: every step about it follows. */
  renumber(oldId, newId) {
    for (const step of [...this.steps, ...this.undone]) {
      if (step.id !== oldId) continue;
      step.id = newId;
      if (step.measurement) step.measurement.id = newId;
    }
  }

  /** PATCH the points, after any save still on its way; put them back if refused. */
  save(measurement, before) {
    const points = copy(measurement.points);
    const { id } = measurement;
    this.unsaved.set(id, (this.unsaved.get(id) || 0) + 1);
    const answered = () => {
      if (this.unsaved.get(id) > 1) this.unsaved.set(id, this.unsaved.get(id) - 1);
      else this.unsaved.delete(id);
    };
    this.saving = this.saving
      .then(() => this.hooks.update(measurement.id, { points }))
      .then((saved) => { measurement.updated_at = saved?.updated_at ?? measurement.updated_at; })
      .catch((error) => {
        // The server keeps the old place, so the drawing does too (unless moved on since).
        if (!changed(points, measurement.points)) measurement.points = copy(before);
        this.hooks.changed();
        this.hooks.failed(error.message);
      })
      .finally(answered);
    return this.saving;
  }
}
