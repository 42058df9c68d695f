/**
 * Changes to saved measurements and taking them back: moves are saved one after
 * another (so the server ends with the last), a run of nudges is saved once the keys
 * rest, and undo takes back the last drawing, move or run of nudges. No DOM: the
 * server and the screen are reached through hooks.
 * @module tools/undo
 */
import { changed, moveBy } from './edit.js';

export const NUDGE_REST_MS = 400;

const copy = (points) => points.map((p) => [...p]);

export class MeasurementEdits {
  /**
   * @param {{update: (id: number, body: object) => Promise<object>,
   *   remove: (id: number) => Promise<void>, find: (id: number) => object | undefined,
   *   changed: () => void, failed: (message: string) => void}} hooks
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.steps = [];
    this.saving = Promise.resolve();
    this.nudging = null;
  }

  get canUndo() {
    return this.steps.length > 0 || this.nudging !== null;
  }

  /** A measurement was drawn and saved: undo deletes it. */
  created(id) {
    this.steps.push({ id });
  }

  /** A measurement was dragged from ``before`` to the points it has now. */
  moved(measurement, before) {
    this.rest();
    this.steps.push({ id: measurement.id, points: copy(before) });
    this.save(measurement, before);
    this.hooks.changed();
  }

  /** Move ``measurement`` by ``[dx, dy]`` now; it is saved when the keys rest. */
  nudge(measurement, [dx, dy]) {
    if (this.nudging?.measurement !== measurement) {
      this.rest();
      this.nudging = { measurement, before: copy(measurement.points), timer: 0 };
      this.steps.push({ id: measurement.id, points: this.nudging.before });
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
    const { measurement, before } = this.nudging;
    this.nudging = null;
    this.save(measurement, before);
  }

  /** Take back the last drawing or move of a measurement that still exists. */
  async undo() {
    this.rest();
    while (this.steps.length) {
      const step = this.steps.pop();
      const measurement = this.hooks.find(step.id);
      if (!measurement) continue; // deleted since
      if (!step.points) {
        await this.hooks.remove(step.id);
        return;
      }
      const before = measurement.points;
      measurement.points = copy(step.points);
      this.hooks.changed();
      await this.save(measurement, before);
      return;
    }
  }

  /** PATCH the points, after any save still on its way; put them back if refused. */
  save(measurement, before) {
    const points = copy(measurement.points);
    this.saving = this.saving
      .then(() => this.hooks.update(measurement.id, { points }))
      .then((saved) => { measurement.updated_at = saved?.updated_at ?? measurement.updated_at; })
      .catch((error) => {
        // The server keeps the old place, so the drawing does too (unless moved on since).
        if (!changed(points, measurement.points)) measurement.points = copy(before);
        this.hooks.changed();
        this.hooks.failed(error.message);
      });
    return this.saving;
  }
}
