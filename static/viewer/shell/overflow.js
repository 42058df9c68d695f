/**
 * Which toolbar groups move into the "more" menu when the toolbar is too narrow. Pure.
 * @module shell/overflow
 */

/**
 * @typedef {object} ToolbarGroup
 * @property {string} id
 * @property {number} width in px, gaps included
 * @property {number} priority bigger is more important; Infinity never moves
 */

/**
 * The ids of the groups that must move into the "more" menu so that the rest, plus the
 * more button when anything moved, fit in ``available`` px. The least important groups
 * move first; among equal priorities the later ones move first, so earlier ones stay.
 * If everything fits the set is empty (and no more button is needed). Groups with
 * priority Infinity never move, even when the rest still do not fit.
 * @param {ToolbarGroup[]} groups in toolbar order
 * @param {number} available the toolbar width in px
 * @param {number} moreWidth the width of the "more" button in px
 * @returns {Set<string>}
 */
export function overflowed(groups, available, moreWidth) {
  const moved = new Set();
  let used = groups.reduce((sum, group) => sum + group.width, 0);
  if (used <= available) return moved;
  const movable = groups
    .map((group, index) => ({ group, index }))
    .filter(({ group }) => group.priority !== Infinity)
    .sort((a, b) => a.group.priority - b.group.priority || b.index - a.index);
  used += moreWidth;
  for (const { group } of movable) {
    if (used <= available) break;
    moved.add(group.id);
    used -= group.width;
  }
  return moved;
}
