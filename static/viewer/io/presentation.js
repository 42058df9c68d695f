/**
 * The study's presentation states (GSPS) from the server (viewer/web/presentation_views.py).
 * @module io/presentation
 */

/**
 * @param {string} studyUid
 * @returns {Promise<object[]>} each state as viewer/reading/presentation.py describes it
 */
export async function fetchPresentationStates(studyUid) {
  const response = await fetch(`/api/studies/${studyUid}/presentation-states/`, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`presentation states: HTTP ${response.status}`);
  return (await response.json()).states || [];
}
