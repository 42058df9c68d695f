/**
 * The patient's other studies, from our server: the priors list, and asking for a
 * remote prior to be retrieved (a prior's series: io/api.js fetchStudyHangings).
 * @module io/priors
 */
import { csrfToken } from './api.js';

/**
 * The priors of a study (local and on the nodes), as viewer/web/priors_views.py lists
 * them: ``{study_uid, priors: [...], prefetching: [...], unreachable: [...]}``.
 * @param {string} studyUid
 * @param {{prefetch?: boolean}} [options] prefetch: false for a poll, which must not
 *   start the background prefetch again
 * @returns {Promise<object>}
 */
export async function fetchPriors(studyUid, { prefetch = true } = {}) {
  const url = `/api/studies/${studyUid}/priors/${prefetch ? '' : '?prefetch=0'}`;
  const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
  if (!response.ok) throw new Error(`priors: HTTP ${response.status}`);
  return response.json();
}

/**
 * Ask for a remote prior (POST to its ``retrieve_url``, with the CSRF token): the
 * server queues a retrieve at viewing priority and answers with the prior's own viewer,
 * which opens in a new tab, where its series stream in as they arrive.
 * @param {string} retrieveUrl
 */
export function retrieveInNewTab(retrieveUrl) {
  const form = document.createElement('form');
  form.method = 'post';
  form.action = retrieveUrl;
  form.target = '_blank';
  form.hidden = true;
  const token = document.createElement('input');
  token.type = 'hidden';
  token.name = 'csrfmiddlewaretoken';
  token.value = csrfToken();
  form.append(token);
  document.body.append(form);
  form.submit();
  form.remove();
}
