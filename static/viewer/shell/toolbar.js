/**
 * The viewer's one toolbar: icon buttons in groups that move into "More" as space
 * shrinks (a bottom bar on a phone), the Measure split button, the layout picker,
 * drag mode, and the menus that pop over the images.
 * @module shell/toolbar
 */
import { overflowed } from './overflow.js';

/** A phone, portrait or landscape: one viewport, a bottom bar, the strip as a band. */
export const NARROW_QUERY = '(max-width: 600px), (max-height: 500px)';

export class Toolbar {
  /**
   * @param {HTMLElement} root the viewer
   * @param {{text: object, onTool: Function, onLayout: Function, onStrip: Function}} options
   */
  constructor(root, options) {
    this.root = root;
    this.options = options;
    this.bar = root.querySelector('#toolbar');
    this.more = root.querySelector('#more-menu');
    this.moreButton = root.querySelector('#more-button');
    this.groups = [...this.bar.querySelectorAll('.tool-group')];
    this.narrowQuery = window.matchMedia(NARROW_QUERY);
    this.tool = '';
    this.lastTool = 'length';
    this.bindMenus();
    this.bindTools();
    this.bindLayout();
    this.bindDragMode();
    this.bindStrip();
    this.narrowQuery.addEventListener('change', () => this.changedWidth());
    new ResizeObserver(() => this.fit()).observe(root);
    this.changedWidth();
  }

  get narrow() { return this.narrowQuery.matches; }

  get dragMode() { return this.root.querySelector('#drag-mode').dataset.value; }

  /** Put groups that do not fit into "More", least important first. */
  fit() {
    for (const group of this.groups) this.bar.insertBefore(group, this.moreButton);
    this.moreButton.hidden = false;
    const moreWidth = this.moreButton.getBoundingClientRect().width;
    const style = getComputedStyle(this.bar);
    const gap = parseFloat(style.columnGap) || 0;
    const available = this.bar.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const key = this.narrow ? 'phonePriority' : 'priority';
    const moved = overflowed(this.groups.map((group, i) => ({
      id: String(i),
      width: group.getBoundingClientRect().width + parseFloat(getComputedStyle(group).marginRight) + gap,
      priority: Number(group.dataset[key] ?? 0),
    })), available, moreWidth + gap);
    this.groups.forEach((group, i) => { if (moved.has(String(i))) this.more.append(group); });
    this.moreButton.hidden = moved.size === 0;
    this.root.dataset.overflow = String(moved.size);
  }

  changedWidth() {
    // The strip is a band over the image on a phone: closed until asked for.
    this.showStrip(!this.narrow);
    this.fit();
  }

  bindMenus() {
    // Each menu opens beside the button that opened it, inside the window.
    let opener = null;
    this.root.addEventListener('click', (event) => {
      const button = event.target.closest('[popovertarget]');
      if (button) opener = button;
    });
    for (const menu of this.root.querySelectorAll('.menu[popover]')) {
      menu.addEventListener('toggle', (event) => {
        const invoker = opener?.getAttribute('popovertarget') === menu.id ? opener : null;
        if (invoker) invoker.setAttribute('aria-expanded', String(event.newState === 'open'));
        if (event.newState === 'open' && invoker) place(menu, invoker.getBoundingClientRect());
      });
    }
    // A command chosen in "More" closes it, as a menu does; a drop-down or a number stays.
    this.more.addEventListener('click', (event) => {
      if (event.target.closest('button:not([popovertarget])')) this.more.hidePopover();
    });
  }

  /** Close every open menu: a choice made in a menu opened from "More" closes both. */
  closeMenus() {
    for (const menu of this.root.querySelectorAll('.menu[popover]')) {
      if (menu.matches(':popover-open')) menu.hidePopover();
    }
  }

  bindTools() {
    const menu = this.root.querySelector('#tool-menu');
    const button = this.root.querySelector('#tool-button');
    button.addEventListener('click', () => this.setTool(this.tool ? '' : this.lastTool));
    menu.addEventListener('click', (event) => {
      const item = event.target.closest('[data-tool]');
      if (!item) return;
      this.setTool(item.dataset.tool);
      this.closeMenus();
    });
  }

  /** Choose a measuring tool ('' puts it away); the split button shows the last one. */
  setTool(kind) {
    const menu = this.root.querySelector('#tool-menu');
    const button = this.root.querySelector('#tool-button');
    this.tool = kind;
    if (kind) this.lastTool = kind;
    const item = menu.querySelector(`[data-tool="${this.lastTool}"]`);
    button.dataset.tool = this.lastTool;
    button.querySelector('use').setAttribute('href', item.querySelector('use').getAttribute('href'));
    button.title = `${this.options.text.measure}: ${item.textContent.trim()}`;
    button.setAttribute('aria-pressed', String(Boolean(kind)));
    for (const entry of menu.querySelectorAll('[data-tool]')) {
      entry.setAttribute('aria-checked', String(entry.dataset.tool === kind));
    }
    this.root.dataset.tool = kind;
    this.options.onTool?.(kind);
  }

  bindLayout() {
    const menu = this.root.querySelector('#layout-menu');
    const cells = [...menu.querySelectorAll('[data-layout]')];
    // Hovering or focusing a cell lights the grid it would make.
    const light = (name) => {
      const [rows, columns] = (name || '0x0').split('x').map(Number);
      for (const cell of cells) {
        const [r, c] = cell.dataset.layout.split('x').map(Number);
        cell.classList.toggle('lit', r <= rows && c <= columns);
      }
    };
    for (const cell of cells) {
      cell.addEventListener('pointerenter', () => light(cell.dataset.layout));
      cell.addEventListener('focus', () => light(cell.dataset.layout));
      cell.addEventListener('click', () => {
        this.options.onLayout?.(cell.dataset.layout);
        this.closeMenus();
      });
    }
    menu.addEventListener('pointerleave', () => light(this.root.dataset.layout));
    menu.addEventListener('toggle', () => light(this.root.dataset.layout));
  }

  /** The layout on screen, whichever way it came: on the button and in the picker. */
  showLayout(name) {
    this.root.querySelector('#layout-current').textContent = name.replace('x', '×');
    for (const cell of this.root.querySelectorAll('#layout-menu [data-layout]')) {
      cell.setAttribute('aria-pressed', String(cell.dataset.layout === name));
    }
  }

  bindDragMode() {
    const button = this.root.querySelector('#drag-mode');
    button.addEventListener('click', () => this.setDragMode(button.dataset.value === 'scroll' ? 'window' : 'scroll'));
  }

  /** 'window' (drag changes width and level) or 'scroll' (drag pages the stack). */
  setDragMode(mode) {
    const button = this.root.querySelector('#drag-mode');
    button.dataset.value = mode;
    button.setAttribute('aria-pressed', String(mode === 'scroll'));
  }

  bindStrip() {
    this.root.querySelector('#series-toggle').addEventListener('click', () => {
      this.showStrip(this.root.dataset.strip !== 'open');
    });
  }

  /** Show or hide the series strip (a band over the image on a phone). */
  showStrip(open) {
    this.root.dataset.strip = open ? 'open' : 'closed';
    this.root.querySelector('#series-toggle').setAttribute('aria-pressed', String(open));
    this.options.onStrip?.(open);
  }
}

/** Put a menu below its button, or above it when the button is low (a bottom bar). */
function place(menu, anchor) {
  const box = menu.getBoundingClientRect();
  const below = anchor.bottom + 4;
  const top = below + box.height <= window.innerHeight ? below : Math.max(4, anchor.top - 4 - box.height);
  const left = Math.min(Math.max(4, anchor.left), Math.max(4, window.innerWidth - box.width - 4));
  menu.style.top = `${top}px`;
  menu.style.left = `${left}px`;
}
