/**
 * Multi-monitor reading in the viewer: the "New window" control, the study's windows
 * kept in step (scroll, 3-D cursor, measurements) and the frame loader a window opened
 * by another borrows from it, given back to a loader of its own if the opener goes.
 * @module shell/windows
 */
import { imagePlane, toPatient } from '../math/crossref.js';
import { openViewerWindow, openerHost, WindowLink } from '../io/windows.js';
import {
  nextNumber, refreshedMeasurements, sameSeriesIndex, scrollFields, startingSeries, windowUrl,
} from '../state/windows.js';

export class ViewerWindows {
  /**
   * @param {{studyUid: string, number: number, text: {blocked: string},
   *   viewports: () => object[], studyOf: (seriesUid: string) => string,
   *   follow: (viewport: object, frameOfReferenceUid: string, centre: number[]) => void,
   *   linked: () => boolean, showCursor: (point: number[], frameOfReferenceUid: string,
   *   studyUid: string) => void, refreshMeasurements: (refresh: Function) => Promise<void>,
   *   refreshKeyImages: () => void,
   *   start: () => {series: string, prior?: string}, onBlocked: (text: string) => void,
   *   onOrphaned: () => void, release: (owner: string) => void}} options
   *   ``release`` takes a closed window's views out of the loader's plan
   */
  constructor(options) {
    this.options = options;
    this.link = new WindowLink({
      studyUid: options.studyUid, number: options.number, onMessage: (m) => this.receive(m),
    });
    // Which window is which, in the task bar and the window list.
    if (options.number > 1) document.title = `${options.number} · ${document.title}`;
    // The opener's loader, when it is a viewer of this study in this origin.
    this.host = openerHost(options.studyUid);
    this.owner = this.host ? this.link.id : 'main';
    // The loader borrowed, kept: the opener may later lend another (its own opener gone).
    this.lent = this.host ? this.host.loader : null;
    if (this.host) {
      // Seen from the opener: this window's views leave its plan when it goes.
      window.addEventListener('pagehide', () => { if (this.host) this.lent.setShown([], this.link.id); });
      // A background window's timers are slowed, not stopped: the check still comes.
      this.watch = setInterval(() => this.checkOpener(), 1000);
    }
  }

  /** The loader this window borrows from its opener, or null (it makes its own). */
  get borrowed() {
    return this.host ? this.lent : null;
  }

  /**
   * What this window offers the windows it opens (``pacsweb.windows``): its study, its
   * channel id and its loader; ``lend`` names a prior's series' study for the loader.
   */
  hostFor(loader, lend) {
    return {
      studyUid: this.options.studyUid,
      id: this.link.id,
      get loader() { return loader(); },
      lend,
    };
  }

  /** A prior's series this window opened: the opener's loader fetches it under its study. */
  lend(seriesUid, studyUid) {
    try {
      this.host?.lend(seriesUid, studyUid);
    } catch {
      // The opener has just gone: this window's own loader knows the prior.
    }
  }

  /** The opener closed or went elsewhere: this window stops borrowing at once. */
  checkOpener() {
    if (!this.host) return;
    const host = openerHost(this.options.studyUid);
    // A window opened from a borrowing window: once that one takes a loader of its own
    // (its opener gone), the loader borrowed here is a closed window's.
    let same = host === this.host;
    try {
      same = same && host.loader === this.lent;
    } catch {
      same = false;
    }
    if (!same) this.orphan();
  }

  orphan() {
    if (!this.host) return;
    this.host = null;
    this.owner = 'main';
    clearInterval(this.watch);
    this.options.onOrphaned();
  }

  /**
   * Open the next window of the study (on another screen where the browser can); what
   * went wrong is said to the person, as a blocked pop-up is (never thrown at no one).
   */
  async open() {
    try {
      const number = nextNumber(this.link.numbers());
      const url = windowUrl(window.location.href, number, this.options.start());
      const opened = await openViewerWindow(url, `pacsweb-${this.options.studyUid}-${number}`);
      if (!opened) this.options.onBlocked(this.options.text.blocked);
      return opened;
    } catch (error) {
      this.options.onBlocked(this.options.text.failed.replace('%(why)s', error?.message || String(error)));
      return null;
    }
  }

  /** The active viewport moved to another image: the other windows follow. */
  scrolled(viewport) {
    const { series } = viewport.state;
    const entry = series?.instances[viewport.state.index];
    if (!entry || this.link.quiet) return;
    const plane = imagePlane(entry);
    const centre = plane ? toPatient(plane, (entry.columns - 1) / 2, (entry.rows - 1) / 2) : null;
    this.link.send('scroll', scrollFields(
      { series_uid: series.series_uid, study_uid: this.options.studyOf(series.series_uid) },
      entry, viewport.state.index, centre,
    ));
  }

  /** The 3-D cursor was placed here: the other windows mark it in the same frame of reference. */
  cursor(point, frameOfReferenceUid, studyUid) {
    if (frameOfReferenceUid) this.link.send('cursor', { point, frame_of_reference_uid: frameOfReferenceUid, study_uid: studyUid });
  }

  /** A measurement was saved, changed or deleted on the server: the others list them again. */
  measured() {
    this.link.send('measurements');
  }

  /** This window marked or unmarked a key image: the others list the key images again. */
  keyImagesChanged() {
    this.link.send('key-images');
  }

  receive(m) {
    const { options } = this;
    if (m.kind === 'bye') {
      // A window this one lent its loader to has gone; or the opener itself.
      options.release(m.from);
      if (this.host && m.from === this.host.id) this.orphan();
    } else if (m.kind === 'scroll') {
      for (const v of options.viewports()) {
        const series = v.state.series;
        if (!series) continue;
        if (series.series_uid === m.series_uid) {
          const index = sameSeriesIndex(series.instances, m);
          if (index >= 0 && index !== v.state.index) v.show(index);
        } else if (options.linked() && m.centre && m.frame_of_reference_uid
          && options.studyOf(series.series_uid) === m.study_uid) {
          // Linked scrolling, as within a window: same frame of reference, same study.
          options.follow(v, m.frame_of_reference_uid, m.centre);
        }
      }
    } else if (m.kind === 'cursor') {
      options.showCursor(m.point, m.frame_of_reference_uid, typeof m.study_uid === 'string' ? m.study_uid : '');
    } else if (m.kind === 'measurements') {
      options.refreshMeasurements(refreshedMeasurements)
        .catch((error) => console.warn(`windows: measurements: ${error.message}`));
    } else if (m.kind === 'key-images') {
      options.refreshKeyImages();
    }
  }
}
