/**
 * The frame loader another viewer window lends this one (io/windows.js), seen from here:
 * every call goes to the lender's loader while it is lent; once the lender goes, what
 * this window still waits for (a frame, a preview, an MPR volume) is asked again of the
 * window's own loader, since a closed window's promises never settle.
 * @module io/borrowed-loader
 */

export class BorrowedLoader {
  /**
   * @param {object} shared the lender's FrameLoader (io/loader.js)
   * @param {string} owner this window's name in that loader's plan (setShown)
   */
  constructor(shared, owner) {
    this.shared = shared;
    this.owner = owner;
    this.calls = new Set(); // what this window waits for: {ask, resolve, reject, loader}
  }

  /** What this window's viewports show, in the lender's plan beside its own. */
  setShown(shown, owner = this.owner) {
    this.shared.setShown(shown, owner);
  }

  setSeries(metadata) {
    this.shared.setSeries(metadata);
  }

  dropSeries(seriesUid) {
    this.shared.dropSeries(seriesUid);
  }

  knows(seriesUid) {
    return this.shared.knows(seriesUid);
  }

  landed(seriesUid, sopUid) {
    this.shared.landed(seriesUid, sopUid);
  }

  heldFrame(entry) {
    return this.shared.heldFrame(entry);
  }

  stats() {
    return this.shared.stats();
  }

  /** The frame of a stack entry (FrameLoader.frame), asked again of the next loader if need be. */
  frame(entry) {
    return this.waitFor((loader) => loader.frame(entry));
  }

  /** A large image's reduced rendition (FrameLoader.preview), likewise. */
  preview(entry) {
    return this.waitFor((loader) => loader.preview(entry));
  }

  /**
   * Every frame of a series (FrameLoader.loadAll, an MPR volume), likewise: frames the old
   * loader hands on after the switch are not passed on (the new one brings them all).
   */
  loadAll(seriesUid, entries, onFrame, signal) {
    return this.waitFor((loader, current) => loader.loadAll(seriesUid, entries, (...frame) => {
      if (current()) onFrame(...frame);
    }, signal));
  }

  /** A promise of this window's, settled by whichever loader answers the call last asked. */
  waitFor(ask) {
    return new Promise((resolve, reject) => {
      const call = { ask, resolve, reject, loader: null };
      this.calls.add(call);
      this.ask(call);
    });
  }

  ask(call) {
    const loader = this.shared;
    call.loader = loader;
    const current = () => call.loader === loader;
    const settle = (how) => (value) => {
      if (!current()) return; // asked again of another loader since: that one answers
      this.calls.delete(call);
      how(value);
    };
    let answer;
    try {
      answer = call.ask(loader, current);
    } catch (error) {
      answer = Promise.reject(error);
    }
    // Promise.resolve: the lender's promise is of its own window's realm.
    Promise.resolve(answer).then(settle(call.resolve), settle(call.reject));
  }

  /**
   * The lender has gone: from now on ``own`` answers, every call still waiting is asked
   * of it again, and nothing here refers to the lender's loader any more.
   */
  lose(own) {
    const old = this.shared;
    this.shared = own;
    try {
      old.setShown([], this.owner); // a lender still open plans no longer for this window
    } catch {
      // A closed window's loader: nothing to tell it.
    }
    for (const call of this.calls) this.ask(call);
  }
}
