/**
 * How a study opened while it is still arriving comes to hang as it will once whole.
 * The page hangs the series it had when it was made, often only the localizer; as each
 * series begins to arrive its label and the protocols that fit are worth asking for
 * again, and once every series has begun the best protocol replaces the provisional
 * one, unless the person has already chosen a layout, protocol or series themselves.
 * Plain data and rules, no DOM or I/O.
 * @module state/opening
 */

/** Job states after which nothing more arrives. */
const ENDED = new Set(['done', 'partial', 'failed', 'cancelled']);

/**
 * The text above a series' description in the strip, as the page writes it
 * (``{{ series_number|default:"" }} {{ modality }}``).
 * @param {{number?: number|null, modality?: string}} series
 * @returns {string}
 */
export function seriesTitle(series) {
  return `${series.number || ''} ${series.modality || ''}`;
}

/**
 * Whether two hangings (entries of the page's "hangings" JSON, or null for none)
 * put the same series in the same places, on a wide screen and on a narrow one.
 * @param {object|null} a
 * @param {object|null} b
 * @returns {boolean}
 */
export function sameHanging(a, b) {
  const key = (h) => (h ? JSON.stringify([h.protocol, h.layout, h.viewports, h.narrow ?? null]) : '');
  return key(a) === key(b);
}

export class OpeningHanging {
  /**
   * @param {{follow: boolean, series: string[], begun: Iterable<string>}} options
   *   follow: whether the study may be hung again (false when the address asked for a
   *   series or for no protocol); series: the strip's series; begun: those with
   *   images here when the page was made (its hanging already counts them)
   */
  constructor({ follow, series, begun }) {
    this.follow = follow;
    this.series = [...series];
    this.begun = new Set(begun);
    this.given = new Set(); // series whose retrieve has ended without an image
    this.ended = false;
    this.stale = false;
    this.settled = this.isSettled();
  }

  /** The person chose a layout, protocol or series: the screen stays as they set it. */
  takeOver() {
    this.follow = false;
  }

  /** Asking failed: ask at the next message instead. */
  missed() {
    this.stale = true;
  }

  /**
   * Take a live message and the series progress after it.
   * @param {object} message a ``snapshot``, ``progress`` or ``job`` message
   * @param {Map<string, {done: number, total: number, failed?: number}>} progress
   * @returns {boolean} whether the labels and protocols should be asked for again:
   *   a series has begun to arrive, or every series now has (or the job has ended)
   */
  receive(message, progress) {
    const job = message.type === 'snapshot' ? message.job : message.type === 'job' ? message : null;
    if (job && ENDED.has(job.state)) this.ended = true;
    let begun = false;
    for (const uid of this.series) {
      const entry = progress.get(uid);
      if (!entry) continue;
      if (entry.done > 0 && !this.begun.has(uid)) {
        this.begun.add(uid);
        begun = true;
      } else if (!entry.done && entry.total && (entry.failed || 0) >= entry.total) {
        this.given.add(uid); // every image failed: it will not begin
      }
    }
    const settled = this.isSettled();
    const newlySettled = settled && !this.settled;
    this.settled = settled;
    const ask = begun || newlySettled || this.stale;
    this.stale = false;
    return ask;
  }

  /**
   * Whether the best protocol the server offers now should replace the one on screen.
   * @param {object|null} shown the hanging on screen (null: none)
   * @param {object|null} best the first of the fresh hangings (null: none fits)
   * @returns {boolean}
   */
  replaces(shown, best) {
    return this.follow && this.settled && !sameHanging(shown, best);
  }

  /** Every series has begun to arrive or never will, or the job has ended. */
  isSettled() {
    return this.ended || this.series.every((uid) => this.begun.has(uid) || this.given.has(uid));
  }
}
