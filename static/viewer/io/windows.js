/**
 * Multi-monitor reading, the browser's part: the study's BroadcastChannel between its
 * viewer windows, the opener's frame loader borrowed by a window it opened (one cache in
 * one JS heap, nothing copied), and opening a window on another screen.
 * @module io/windows
 */
import { channelName, message, parseMessage, windowFeatures } from '../state/windows.js';

export class WindowLink {
  /**
   * @param {{studyUid: string, number: number, onMessage: (message: object) => void}} options
   */
  constructor({ studyUid, number, onMessage }) {
    this.number = number;
    // Unique even between two windows opened by hand with the same number.
    this.id = `${number}-${Math.random().toString(36).slice(2, 10)}`;
    this.peers = new Map(); // window id → number
    this.onMessage = onMessage;
    this.quiet = 0; // > 0 while a message from another window is being applied
    this.channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(channelName(studyUid)) : null;
    if (this.channel) this.channel.onmessage = (event) => this.receive(event.data);
    this.send('hello');
    window.addEventListener('pagehide', () => this.send('bye'));
    // Back from the back-forward cache: the others forgot this window.
    window.addEventListener('pageshow', (event) => { if (event.persisted) this.send('hello'); });
  }

  /** Tell the other windows; nothing while applying what one of them said (no echo). */
  send(kind, fields = {}) {
    if (!this.channel || (this.quiet && !['hello', 'here', 'bye'].includes(kind))) return;
    this.channel.postMessage(message(kind, this, fields));
  }

  /** Apply a message from another window without telling the others of what follows. */
  applying(apply) {
    this.quiet += 1;
    try {
      apply();
    } finally {
      this.quiet -= 1;
    }
  }

  receive(data) {
    const received = parseMessage(data);
    if (!received || received.from === this.id) return; // garbage is ignored, not thrown
    if (received.kind === 'hello') {
      this.peers.set(received.from, received.number);
      this.send('here');
    } else if (received.kind === 'here') {
      this.peers.set(received.from, received.number);
    } else if (received.kind === 'bye') {
      this.peers.delete(received.from);
    }
    try {
      this.applying(() => this.onMessage(received));
    } catch (error) {
      console.warn(`windows: ${error.message}`);
    }
  }

  /** The numbers of every window of the study known here, this one's too. */
  numbers() {
    return [this.number, ...this.peers.values()];
  }
}

/**
 * The viewer that opened this window, when it shows the same study in this origin and is
 * still open: its ``pacsweb.windows`` host ({studyUid, id, loader, lend}), else null.
 */
export function openerHost(studyUid) {
  try {
    const { opener } = window;
    const host = opener && !opener.closed ? opener.pacsweb?.windows : null;
    return host && host.studyUid === studyUid && host.loader ? host : null;
  } catch {
    return null; // another origin's window: not ours to reach
  }
}

/**
 * Open a viewer window: on another screen where the Window Management API offers one
 * (it asks the person's permission once), else beside this one. The opener link stays
 * (no noopener): it is how the new window borrows this one's frames.
 * @returns {Promise<Window|null>} null when the browser blocked it
 */
export async function openViewerWindow(url, name) {
  let details = null;
  try {
    if (window.screen.isExtended && typeof window.getScreenDetails === 'function') {
      const permission = await navigator.permissions?.query({ name: 'window-management' }).catch(() => null);
      if (permission?.state !== 'denied') details = await window.getScreenDetails();
    }
  } catch {
    details = null; // refused or unsupported: beside this window
  }
  return window.open(url, name, windowFeatures(details, window)) || null;
}
