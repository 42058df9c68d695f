/**
 * What the viewer knows of the open study besides its images: the measurements (one's
 * own and those shared), which one is selected, and each series' retrieve progress.
 * Plain data and rules, no DOM or I/O.
 * @module state/study
 */
import { applyMessage } from '../tools/progress.js';

export class StudyState {
  constructor() {
    /** @type {object[]} every measurement of the study the server gave us, or we saved */
    this.measurements = [];
    /** @type {number|null} the selected measurement's id */
    this.selected = null;
    /** @type {Map<string, object>} retrieve progress by series UID */
    this.progress = new Map();
  }

  /** The measurement with this id, or undefined. */
  find(id) {
    return this.measurements.find((m) => m.id === id);
  }

  /** The selected measurement, or undefined. */
  selection() {
    return this.selected === null ? undefined : this.find(this.selected);
  }

  /** Select a measurement by id (null lets go). */
  select(id) {
    this.selected = id ?? null;
  }

  /** A measurement the server has just saved. */
  add(saved) {
    this.measurements = [...this.measurements, saved];
  }

  /** The study's list from the server; any saved while it was on its way are kept. */
  merge(found) {
    const known = new Set(found.map((m) => m.id));
    this.measurements = [...found, ...this.measurements.filter((m) => !known.has(m.id))];
  }

  /** A measurement deleted on the server leaves the list and the selection. */
  forget(id) {
    this.measurements = this.measurements.filter((m) => m.id !== id);
    if (this.selected === id) this.selected = null;
  }

  /** Take a live message (snapshot or progress) into the progress of each series. */
  receive(message) {
    this.progress = applyMessage(this.progress, message);
  }
}
