// The solocron dashboard: the HTTP API of docs/api.md, drawn. No library, no network beyond
// this node. Every string from the API (job names, output, messages) is hostile: it only ever
// reaches the page as a text node (el() below), never as markup.
'use strict';

const PAGE = 50;          // jobs per page: the API pages on the server, so 10,000 jobs stay fast
const HISTORY_PAGE = 30;
const REFRESH_MS = 3000;  // polling, paused while the tab is hidden
const TOKEN_KEY = 'solocron.token';

const state = { q: '', offset: 0, historyBefore: [], timer: null, pending: null, busy: false };
const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

// --- building the page --------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function show(...nodes) {
  const view = document.getElementById('view');
  view.replaceChildren(...nodes);
}

function alertBox(message, kind) {
  const box = document.getElementById('alert');
  box.className = kind || '';
  box.textContent = message;
  box.hidden = !message;
}

function when(iso, zone) {
  if (!iso) return '-';
  try {
    return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium', timeZone: zone }).format(new Date(iso));
  } catch (e) {
    return iso;
  }
}

function ms(v) {
  if (v === null || v === undefined) return '-';
  if (v < 1000) return v + ' ms';
  if (v < 120000) return (v / 1000).toFixed(1) + ' s';
  return Math.round(v / 60000) + ' min';
}

function stateText(s) { return el('span', { class: 'state-text s-' + s }, s); }

// --- the API ------------------------------------------------------------------------------

function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(path, method, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token()) headers.Authorization = 'Bearer ' + token();
  const res = await fetch('/api/v1' + path, { method: method || 'GET', headers, body: method === 'POST' ? JSON.stringify(body || {}) : undefined });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const err = (data && data.error) || { code: 'http_' + res.status, message: 'HTTP ' + res.status };
    throw new ApiError(res.status, err.code, err.message);
  }
  return data;
}

// A failed read: 401 asks for a token (a node on a non-loopback address needs one to read).
function readFailed(e) {
  if (e.status === 401) {
    alertBox('This node needs a token to read: ' + e.message);
    askToken(null);
  } else {
    alertBox(e.message || String(e));
  }
}

// --- the token ----------------------------------------------------------------------------

function askToken(then) {
  state.pending = then;
  const form = document.getElementById('token-form');
  form.hidden = false;
  document.getElementById('token-input').focus();
}

function setupToken() {
  const form = document.getElementById('token-form');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = document.getElementById('token-input');
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    input.value = '';
    form.hidden = true;
    const then = state.pending;
    state.pending = null;
    alertBox('');
    if (then) then(); else render();
  });
  document.getElementById('token-cancel').addEventListener('click', () => { form.hidden = true; state.pending = null; });
  document.getElementById('token-forget').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    form.hidden = true;
    alertBox('Token forgotten.', 'info');
  });
  document.getElementById('token-button').addEventListener('click', () => askToken(null));
}

// An operation: asks for a token first when none is kept; a refused token is forgotten.
function operate(what, path, body, done) {
  const run = async () => {
    try {
      const answer = await api(path, 'POST', body);
      alertBox(what + ': done' + (answer && answer.message ? ' (' + answer.message + ')' : ''), 'info');
      if (done) done(answer);
      render();
    } catch (e) {
      if (e.status === 401) sessionStorage.removeItem(TOKEN_KEY);
      alertBox(what + ' refused: ' + e.message);
    }
  };
  if (!token()) askToken(run); else run();
}

// --- the jobs list ------------------------------------------------------------------------

function outcomes(recent) {
  // Oldest left, newest right, as a timeline reads.
  return el('span', { class: 'outcomes' }, recent.slice().reverse().map((r) =>
    el('span', { class: 'sq s-' + r.state, title: r.scheduled_at + ' ' + r.state + (r.trigger !== 'schedule' ? ' (' + r.trigger + ')' : '') + (r.duration_ms !== null ? ', ' + ms(r.duration_ms) : '') })));
}

function jobRow(j) {
  return el('tr', { 'data-job': j.job },
    el('td', { 'data-label': 'Job' }, el('a', { href: '#/jobs/' + encodeURIComponent(j.job) }, j.job),
      j.paused ? el('span', { class: 'badge paused' }, 'paused') : null,
      j.drift ? el('span', { class: 'badge drift', title: 'the nodes run different definitions' }, 'drift') : null),
    el('td', { 'data-label': 'Schedule' }, j.description || j.schedule, el('div', { class: 'muted' }, j.schedule)),
    el('td', { 'data-label': 'Next' }, j.next ? [el('div', {}, when(j.next, j.time_zone) + ' ', el('span', { class: 'muted' }, j.time_zone)),
      el('div', { class: 'muted' }, when(j.next, viewerZone) + ' (yours)')] : '-'),
    el('td', { 'data-label': 'Last 30' }, outcomes(j.recent)));
}

async function renderJobs() {
  const page = await api('/jobs?limit=' + PAGE + '&offset=' + state.offset + (state.q ? '&q=' + encodeURIComponent(state.q) : ''));
  const search = el('input', { type: 'search', id: 'search', placeholder: 'Search jobs by name', value: state.q, 'aria-label': 'Search jobs' });
  search.addEventListener('input', () => { state.q = search.value; state.offset = 0; render(); });
  const last = Math.min(page.total, page.offset + page.jobs.length);
  show(
    el('div', { class: 'toolbar' }, search,
      el('span', { class: 'muted', id: 'job-count' }, page.total ? (page.offset + 1) + '-' + last + ' of ' + page.total + ' jobs' : 'no jobs')),
    el('table', { class: 'list', id: 'jobs' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Job'), el('th', {}, 'Schedule'), el('th', {}, 'Next fire'), el('th', {}, 'Last 30 outcomes'))),
      el('tbody', {}, page.jobs.map(jobRow))),
    el('div', { class: 'pager' },
      el('button', { type: 'button', disabled: page.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - PAGE); render(); } }, '← Previous'),
      el('button', { type: 'button', disabled: last >= page.total, onclick: () => { state.offset += PAGE; render(); } }, 'Next →')));
  if (document.activeElement !== search && state.q) { search.focus(); search.setSelectionRange(state.q.length, state.q.length); }
}

// --- a job's page -------------------------------------------------------------------------

function durationChart(records) {
  const runs = records.filter((r) => r.duration_ms !== null).reverse();  // oldest first
  const W = 600, H = 140, pad = 24;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'run durations, oldest to newest');
  const max = Math.max(1, ...runs.map((r) => r.duration_ms));
  const w = runs.length ? Math.min(24, (W - pad) / runs.length) : 0;
  runs.forEach((r, i) => {
    const h = Math.max(1, (H - pad - 4) * r.duration_ms / max);
    const bar = document.createElementNS(svg.namespaceURI, 'rect');
    bar.setAttribute('class', 'bar' + (r.state === 'succeeded' ? '' : ' bad'));
    bar.setAttribute('x', pad + i * w + 1);
    bar.setAttribute('y', H - 4 - h);
    bar.setAttribute('width', Math.max(1, w - 2));
    bar.setAttribute('height', h);
    const title = document.createElementNS(svg.namespaceURI, 'title');
    title.textContent = r.scheduled_at + ': ' + ms(r.duration_ms) + ' (' + r.state + ')';
    bar.append(title);
    svg.append(bar);
  });
  const label = document.createElementNS(svg.namespaceURI, 'text');
  label.setAttribute('x', 2);
  label.setAttribute('y', 12);
  label.textContent = runs.length ? 'max ' + ms(max) : 'no finished runs yet';
  svg.append(label);
  return svg;
}

function recordRows(r, earlier) {
  const rows = [el('tr', { class: earlier ? 'earlier' : 'record', 'data-trigger': r.trigger, 'data-state': r.state },
    el('td', { 'data-label': 'Scheduled' }, earlier ? '↳ attempt ' + r.attempt : r.scheduled_at),
    el('td', { 'data-label': 'State' }, stateText(r.state), r.trigger !== 'schedule' ? el('span', { class: 'badge state' }, r.trigger) : null),
    el('td', { 'data-label': 'Node' }, r.node || '-', r.occurrence_node ? el('div', { class: 'muted' }, 'for ' + r.occurrence_node) : null),
    el('td', { 'data-label': 'Attempt' }, String(r.attempt)),
    el('td', { 'data-label': 'Duration' }, ms(r.duration_ms)),
    el('td', { 'data-label': 'Exit' }, r.exit_code !== null ? String(r.exit_code) : r.signal !== null ? 'signal ' + r.signal : '-'),
    el('td', { 'data-label': 'Output' },
      r.requested_by ? el('div', { class: 'muted' }, 'by ' + r.requested_by + (r.note ? ': ' + r.note : '')) : null,
      r.message ? el('div', {}, r.message) : null,
      r.output_tail ? el('details', {}, el('summary', {}, 'output (' + r.output_tail.length + ' chars)'), el('pre', {}, r.output_tail)) : null))];
  if (!earlier) for (const a of (r.earlier_attempts || []).slice().reverse()) rows.push(...recordRows(a, true));
  return rows;
}

function backfillForm(name) {
  const from = el('input', { type: 'text', name: 'from', placeholder: '2026-12-01T00:00:00Z', required: true });
  const to = el('input', { type: 'text', name: 'to', placeholder: '2026-12-01T23:59:59Z', required: true });
  const dry = el('input', { type: 'checkbox', name: 'dry_run', checked: true });
  const form = el('form', { class: 'backfill', id: 'backfill-form', hidden: true },
    el('label', {}, 'From (RFC 3339, or a wall time in the job\'s zone)', from),
    el('label', {}, 'To (included)', to),
    el('label', {}, el('span', {}, dry, ' dry run')),
    el('button', { type: 'submit', class: 'primary' }, 'Backfill'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    operate(dry.checked ? 'Backfill (dry run)' : 'Backfill', '/jobs/' + encodeURIComponent(name) + '/backfill',
      { from: from.value, to: to.value, dry_run: dry.checked }, (a) => {
        if (a && a.instants) alertBox((a.dry_run ? 'Would run ' : 'Queued ') + a.instants.length + ' tick(s)' + (a.instants.length ? ': ' + a.instants.map((i) => i.scheduled_at).join(', ') : ''), 'info');
      });
  });
  return form;
}

async function renderJob(name) {
  const path = '/jobs/' + encodeURIComponent(name);
  const before = state.historyBefore[state.historyBefore.length - 1];
  const [job, history] = await Promise.all([api(path), api(path + '/history?limit=' + HISTORY_PAGE + (before ? '&before=' + encodeURIComponent(before) : ''))]);
  const def = job.definitions[0].definition;
  const form = backfillForm(name);
  const actions = el('div', { class: 'toolbar' },
    el('button', { type: 'button', class: 'primary', id: 'trigger', onclick: () => operate('Trigger ' + name, path + '/trigger', { note: 'from the dashboard' }) }, 'Trigger now'),
    job.paused ? el('button', { type: 'button', id: 'resume', onclick: () => operate('Resume ' + name, path + '/resume', {}) }, 'Resume')
      : el('button', { type: 'button', id: 'pause', onclick: () => operate('Pause ' + name, path + '/pause', { note: 'from the dashboard' }) }, 'Pause'),
    el('button', { type: 'button', id: 'backfill', onclick: () => { form.hidden = !form.hidden; } }, 'Backfill…'));
  show(
    el('h2', {}, name, job.paused ? el('span', { class: 'badge paused' }, 'paused') : null, job.drift ? el('span', { class: 'badge drift' }, 'drift: ' + job.definitions.length + ' definitions') : null),
    el('p', {}, job.description || job.schedule, ' ', el('code', {}, job.schedule), ' ', el('span', { class: 'muted' }, job.time_zone)),
    actions, form,
    el('div', { class: 'cards' },
      el('div', { class: 'card' }, el('h3', {}, 'Next fires'), job.next_fires.length ? job.next_fires.map((t) =>
        el('div', {}, when(t, job.time_zone), el('span', { class: 'muted' }, ' · ' + when(t, viewerZone) + ' yours'))) : el('div', { class: 'muted' }, job.paused ? 'paused' : 'none')),
      el('div', { class: 'card' }, el('h3', {}, 'Definition'),
        el('div', {}, 'run_on ' + def.run_on + ', overlap ' + def.overlap + ', misfire ' + def.misfire + ', ' + def.delivery),
        el('div', {}, 'action: ' + def.action.kind + (def.action.url ? ' ' + def.action.url : '') + (def.action.argv ? ' ' + def.action.argv.join(' ') : '')),
        el('div', { class: 'muted' }, 'nodes: ' + job.nodes.join(', '))),
      el('div', { class: 'card' }, el('h3', {}, 'Pause'), job.control ? [
        el('div', {}, (job.control.paused ? 'paused since ' : 'last paused ') + job.control.paused_at + ' by ' + job.control.changed_by),
        job.control.note ? el('div', { class: 'muted' }, job.control.note) : null] : el('div', { class: 'muted' }, 'never paused'))),
    el('h3', {}, 'Durations'), durationChart(history.records),
    el('h3', {}, 'History'),
    el('table', { class: 'list', id: 'history' },
      el('thead', {}, el('tr', {}, ['Scheduled', 'State', 'Node', 'Attempt', 'Duration', 'Exit', 'Output'].map((h) => el('th', {}, h)))),
      el('tbody', {}, history.records.flatMap((r) => recordRows(r, false)))),
    el('div', { class: 'pager' },
      el('button', { type: 'button', disabled: !state.historyBefore.length, onclick: () => { state.historyBefore.pop(); render(); } }, '← Newer'),
      el('button', { type: 'button', disabled: !history.next_before, onclick: () => { state.historyBefore.push(history.next_before); render(); } }, 'Older →')),
    el('h3', {}, 'Ticks not run (misfires, overlaps, pauses)'),
    job.not_run.length ? el('table', { class: 'list', id: 'not-run' }, el('tbody', {}, job.not_run.map((r) =>
      el('tr', {}, el('td', {}, r.scheduled_at), el('td', {}, stateText(r.state)), el('td', {}, r.message || '-'))))) : el('p', { class: 'muted' }, 'none recorded'));
}

// --- the nodes ----------------------------------------------------------------------------

async function renderNodes() {
  const n = await api('/nodes');
  const row = (x) => el('tr', {},
    el('td', { 'data-label': 'Node' }, x.node),
    el('td', { 'data-label': 'Lease' }, x.live ? 'live' : 'expired'),
    el('td', { 'data-label': 'Lease age' }, ms(x.lease_age_ms)),
    el('td', { 'data-label': 'Active runs' }, String(x.active_runs)),
    el('td', { 'data-label': 'Version' }, x.version || '-'));
  show(
    el('p', { class: 'muted' }, 'Store: ' + n.store + '. Answered by ' + n.answered_by.node + ', solocron ' + n.answered_by.version + '.'),
    el('table', { class: 'list', id: 'nodes' },
      el('thead', {}, el('tr', {}, ['Node', 'Lease', 'Lease age', 'Active runs', 'Version'].map((h) => el('th', {}, h)))),
      el('tbody', {}, n.nodes.map(row))));
}

// --- routing and refresh ------------------------------------------------------------------

async function render() {
  if (state.busy) return;
  state.busy = true;
  const hash = location.hash || '#/';
  try {
    const job = hash.match(/^#\/jobs\/(.+)$/);
    if (job) await renderJob(decodeURIComponent(job[1]));
    else if (hash === '#/nodes') await renderNodes();
    else await renderJobs();
    document.getElementById('refreshed').textContent = 'refreshed ' + new Date().toLocaleTimeString() + ' · every ' + REFRESH_MS / 1000 + ' s';
  } catch (e) {
    readFailed(e);
  } finally {
    state.busy = false;
  }
}

function schedule() {
  clearTimeout(state.timer);
  state.timer = setTimeout(() => {
    // No refresh while the operator types in a form or reads an opened output.
    const typing = document.activeElement && ['INPUT', 'SELECT'].includes(document.activeElement.tagName) && document.activeElement.id !== 'search';
    const reading = document.querySelector('details[open]') || !document.getElementById('token-form').hidden ||
      (document.getElementById('backfill-form') && !document.getElementById('backfill-form').hidden);
    if (!document.hidden && !typing && !reading) render();
    schedule();
  }, REFRESH_MS);
}

async function whoami() {
  try {
    const n = await api('/nodes');
    document.getElementById('whoami').textContent = n.answered_by.node + ' · ' + n.answered_by.version;
  } catch (e) { /* the view reports it */ }
}

window.addEventListener('hashchange', () => { state.historyBefore = []; alertBox(''); render(); });
document.addEventListener('visibilitychange', () => { if (!document.hidden) render(); });
document.addEventListener('DOMContentLoaded', () => { setupToken(); render(); whoami(); schedule(); });
