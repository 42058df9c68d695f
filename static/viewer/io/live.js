/**
 * The study's live WebSocket: snapshot and progress in, focus out; reconnects with
 * backoff and says how the connection stands.
 * @module io/live
 */
import { backoffSeconds } from '../tools/progress.js';

export class LiveStudy {
  /**
   * @param {string} studyUid
   * @param {{onMessage: (message: object) => void, onState: (state: string) => void}} handlers
   */
  constructor(studyUid, handlers) {
    this.url = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/ws/studies/${studyUid}/`;
    this.handlers = handlers;
    this.attempt = 0;
    this.focus = null;
    this.closed = false;
    this.connect();
  }

  connect() {
    this.handlers.onState(this.attempt ? 'reconnecting' : 'connecting');
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      this.handlers.onState('live');
      if (this.focus) socket.send(JSON.stringify(this.focus));
    });
    socket.addEventListener('message', (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      // A worker that (re)starts a job asks again: tell it what is on screen.
      if (message.type === 'job' && message.state === 'running' && this.focus) this.send(this.focus);
      this.handlers.onMessage(message);
    });
    socket.addEventListener('close', (event) => {
      if (this.closed) return;
      if (event.code === 4401 || event.code === 4404) {
        this.handlers.onState('closed');
        return; // signed out or no such study: retrying will not help
      }
      this.handlers.onState('reconnecting');
      const delay = backoffSeconds(this.attempt);
      this.attempt += 1;
      this.timer = setTimeout(() => this.connect(), delay * 1000);
    });
  }

  /** Send focus now (and again after every reconnection). */
  sendFocus(message) {
    this.focus = message;
    this.send(message);
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.close();
  }
}
