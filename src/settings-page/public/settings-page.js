// The demo's token settings page: plain browser JavaScript, no build step, served under a CSP that
// runs no script but this file. It uses only the demo's REST API, as any client would. Everything
// from the server or the user is put in the page with textContent, never as HTML: a token's name
// is user input.

/**
 * The session (access token, refresh token, user name) lives in sessionStorage: it survives a
 * reload of this tab, but not the tab, is not shared with other tabs, and is not kept on disk
 * across browser restarts as localStorage is; the refresh token lasts days, and left in
 * localStorage it would stay for whoever uses the browser profile next. Any script in the page
 * could read either storage (or memory): that is why the CSP allows no other script and nothing
 * is rendered as HTML. A new token's raw value is kept in no storage at all, only in the page,
 * so a reload drops it.
 */
const SESSION_KEY = 'nestjs-access-tokens-demo.session';
/** Pages of 100 tokens are followed through the `Link` header, up to this many. */
const MAX_PAGES = 20;

const $ = (id) => document.getElementById(id);

/** An API call that failed, with a message for the user. */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The session could not be refreshed: the user is signed out, with `message` saying why. */
class SessionEnded extends Error {}

let session = loadSession();
/** The refresh under way, shared by every request that found the access token expired. */
let refreshing = null;

function loadSession() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
    return stored && typeof stored.accessToken === 'string' && typeof stored.refreshToken === 'string' ? stored : null;
  } catch {
    return null;
  }
}

function saveSession(next) {
  session = next;
  if (next) sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
  else sessionStorage.removeItem(SESSION_KEY);
}

/** The message of a failed response: the API's own (`message`, a string or a list), and its status. */
async function errorOf(response) {
  let message = '';
  try {
    const body = await response.json();
    if (Array.isArray(body?.message)) message = body.message.join('; ');
    else if (typeof body?.message === 'string') message = body.message;
    else if (typeof body?.error_description === 'string') message = body.error_description;
  } catch {
    // Not JSON: the status says enough.
  }
  if (!message) message = response.statusText || 'The request failed';
  const retryAfter = response.headers.get('Retry-After');
  if (retryAfter && (response.status === 429 || response.status === 503))
    message += `. Try again in ${retryAfter} seconds`;
  return new ApiError(response.status, `${message} (HTTP ${response.status})`);
}

async function send(method, path, body, accessToken) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // The token goes in the header; the page sends no cookies and keeps no answer in the cache.
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'The server cannot be reached: check that the demo is running, then try again');
  }
}

/**
 * Calls the API with the session's access token. A 401 means it expired (or was revoked): the
 * session is refreshed once and the call made again; if the refresh is refused, the user is
 * signed out (`SessionEnded`).
 */
async function api(method, path, body) {
  if (!session) throw new SessionEnded('Sign in to continue');
  const used = session.accessToken;
  let response = await send(method, path, body, used);
  if (response.status === 401) {
    await refreshSession(used);
    response = await send(method, path, body, session.accessToken);
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

/**
 * A new pair of tokens for the refresh token, once however many requests ask: a refresh token
 * works once, and presenting it twice ends the session. A request that used an access token
 * already replaced just tries again with the new one.
 */
function refreshSession(used) {
  if (refreshing) return refreshing;
  if (!session) return Promise.reject(new SessionEnded('Sign in to continue'));
  if (session.accessToken !== used) return Promise.resolve();
  refreshing = (async () => {
    const response = await send('POST', '/auth/refresh', { refreshToken: session.refreshToken });
    if (response.ok) {
      const pair = await response.json();
      saveSession({ ...session, accessToken: pair.accessToken, refreshToken: pair.refreshToken });
      return;
    }
    const error = await errorOf(response);
    // Refused (revoked, expired, reused): the session is over. Anything else (429, 503) may pass.
    if (response.status === 400 || response.status === 401) {
      saveSession(null);
      throw new SessionEnded(`Your session has ended: ${error.message}. Sign in again.`);
    }
    throw error;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

// --- Showing things ---------------------------------------------------------------------------

function show(element, visible) {
  element.hidden = !visible;
}

function showError(error) {
  if (error instanceof SessionEnded) return signedOut(error.message);
  $('error').textContent =
    error instanceof ApiError ? error.message : `Something went wrong: ${error?.message ?? error}`;
  show($('error'), true);
}

function showNotice(message) {
  $('notice').textContent = message;
  show($('notice'), Boolean(message));
}

function clearMessages() {
  show($('error'), false);
  showNotice('');
}

const dateFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
const formatDate = (value, none) => (value ? dateFormat.format(new Date(value)) : none);

/** A table cell with `text` in it, as text. */
function cell(row, text, className) {
  const td = row.insertCell();
  if (text !== undefined) td.textContent = text;
  if (className) td.className = className;
  return td;
}

const WINDOW_UNITS = [
  [86400, 'day'],
  [3600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** "minute", "5 minutes", "90 seconds": a span in the largest unit it is a whole number of. */
function span(seconds) {
  const [size, unit] = WINDOW_UNITS.find(([size]) => seconds % size === 0) ?? [1, 'second'];
  const count = seconds / size;
  return count === 1 ? unit : `${count.toLocaleString()} ${unit}s`;
}

/** One line of the Limits cell. */
function limitLine(td, className, text) {
  const line = document.createElement('span');
  line.className = className;
  line.textContent = text;
  td.append(line);
  return line;
}

/** What a token's usage policy allows: its rate limit, its uses left, the addresses it works from. */
function renderLimits(td, token) {
  if (token.rateLimit) {
    const { limit, window: seconds } = token.rateLimit;
    limitLine(td, 'limit-rate', `${limit.toLocaleString()} request${limit === 1 ? '' : 's'} per ${span(seconds)}`);
  }
  if (typeof token.maxUses === 'number') {
    const uses = limitLine(
      td,
      'limit-uses',
      `${(token.usesLeft ?? token.maxUses).toLocaleString()} of ${token.maxUses.toLocaleString()} uses left`,
    );
    if (typeof token.usesPeriod === 'number') {
      // Restored at the first use once the period has passed, not at that moment: "next after".
      const restored = document.createElement('small');
      restored.textContent = `, restored every ${span(token.usesPeriod)}${
        token.usesRenewAt ? ` (next after ${formatDate(token.usesRenewAt, '')})` : ''
      }`;
      uses.append(restored);
    }
  }
  if (Array.isArray(token.allowedIps)) limitLine(td, 'limit-ips', `From ${token.allowedIps.join(', ')}`);
  if (td.childElementCount === 0) limitLine(td, 'none', 'None');
}

/**
 * The least-privilege hints under a token's scopes: each scope no request exercised within the
 * app's window (tokens.unusedScopeSeconds, 90 days by default), and when it last was, if ever.
 */
function renderUnusedScopes(td, token) {
  const unused = Array.isArray(token.unusedScopes) ? token.unusedScopes : [];
  if (unused.length === 0) return;
  const usedAt = token.scopesUsedAt ?? {};
  const line = document.createElement('small');
  line.className = 'unused-scopes';
  line.textContent = `Unused scopes: ${unused
    .map((scope) => `${scope} (${usedAt[scope] ? `last used ${formatDate(usedAt[scope], '')}` : 'never used'})`)
    .join(', ')}`;
  line.title = 'Not exercised by any request in the last 90 days (tokens.unusedScopeSeconds), or never';
  td.append(line);
}

/** When, from where and with what a token was last used: the address and user agent under the date. */
function renderLastUsed(td, token) {
  td.textContent = formatDate(token.lastUsedAt, 'Never used');
  for (const [className, text] of [
    ['last-used-ip', token.lastUsedIp],
    ['last-used-agent', token.lastUsedUserAgent],
  ]) {
    if (!text) continue;
    const line = document.createElement('small');
    line.className = className;
    line.textContent = text;
    line.title = text;
    td.append(line);
  }
}

function renderTokens(tokens) {
  const body = $('tokens');
  body.replaceChildren();
  for (const token of tokens) fillRow(body.insertRow(), token);
  show($('tokens-table'), tokens.length > 0);
  show($('tokens-empty'), tokens.length === 0);
  show(
    $('revoke-all'),
    tokens.some((token) => token.status === 'live'),
  );
}

/**
 * A token's row, its cells made anew from `token` (the API's view, with the `status` the list
 * gave it): for the list, and for one token the API answered a change of.
 */
function fillRow(row, token) {
  row.replaceChildren();
  row.dataset.tokenId = token.id;
  row.dataset.status = token.status;
  cell(row, token.name, 'name');
  const scopes = cell(row, undefined, 'token-scopes');
  for (const scope of token.scopes) {
    const chip = document.createElement('span');
    chip.className = token.unusedScopes?.includes(scope) ? 'scope unused' : 'scope';
    chip.textContent = scope;
    scopes.append(chip);
  }
  renderUnusedScopes(scopes, token);
  const hint = document.createElement('code');
  hint.textContent = token.hint;
  cell(row).append(hint);
  cell(row, formatDate(token.createdAt, ''), 'date');
  cell(row, formatDate(token.expiresAt, 'Never'), 'date');
  renderLastUsed(cell(row, undefined, 'date last-used'), token);
  // A paused token is live (it works again once resumed), but refused until then.
  const paused = token.status === 'live' && token.enabled === false;
  row.dataset.enabled = String(!paused);
  const status = cell(row, undefined, 'status');
  const badge = document.createElement('span');
  badge.className = `badge ${paused ? 'paused' : token.status}`;
  badge.textContent = paused ? 'paused' : token.status;
  status.append(badge);
  if (token.canary) {
    // A tripwire: it never works, and any use of it raises an alert; only revoking it means anything.
    const canary = document.createElement('span');
    canary.className = 'badge canary';
    canary.textContent = 'canary';
    canary.title = 'Never authenticates: any use of it raises an alert';
    status.append(canary);
  }
  renderLimits(cell(row, undefined, 'limits'), token);
  const actions = cell(row, undefined, 'actions');
  if (token.status === 'live' && token.revokedAt) {
    // Rotated, in its grace period: the successor is the one to manage.
    const note = document.createElement('small');
    note.textContent = `rotated, works until ${formatDate(token.revokedAt, '')}`;
    status.append(note);
  } else if (token.status === 'live' && token.canary) {
    actions.append(button('Revoke', `Revoke ${token.name}`, () => revoke(token), 'danger'));
  } else if (token.status === 'live') {
    actions.append(
      button('Edit', `Edit ${token.name}`, () => openEdit(token)),
      paused
        ? button('Resume', `Resume ${token.name}`, () => setEnabled(token, true))
        : button('Pause', `Pause ${token.name}`, () => setEnabled(token, false)),
      button('Rotate', `Rotate ${token.name}`, () => rotate(token)),
      button('Revoke', `Revoke ${token.name}`, () => revoke(token), 'danger'),
    );
  }
}

function button(text, label, onClick, className) {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = text;
  element.setAttribute('aria-label', label);
  if (className) element.className = className;
  element.addEventListener('click', () => busy(element, onClick));
  return element;
}

function renderScopes(scopes) {
  const container = $('scopes');
  container.replaceChildren();
  for (const scope of scopes) {
    const label = document.createElement('label');
    label.className = 'checkbox';
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.name = 'scope';
    input.value = scope;
    label.append(input, ` ${scope}`);
    container.append(label);
  }
}

function showNewToken(name, token, note) {
  $('new-token-name').textContent = name;
  $('new-token-value').value = token;
  $('copy-status').textContent = '';
  $('new-token-note').textContent = note;
  show($('new-token'), true);
  $('new-token').scrollIntoView({ block: 'nearest' });
}

function dismissNewToken() {
  $('new-token-value').value = '';
  $('new-token-name').textContent = '';
  show($('new-token'), false);
}

/** Runs `action` with `element` disabled, so that a double click does not do it twice. */
async function busy(element, action) {
  if (element.disabled) return;
  element.disabled = true;
  try {
    clearMessages();
    await action();
  } catch (error) {
    showError(error);
  } finally {
    element.disabled = false;
  }
}

/** Asks before something that cannot be undone; resolves to the grace chosen, or `null` for no. */
function confirmAction({ title, text, ok, grace = false }) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = ok;
  $('grace').value = '0';
  show($('grace-field'), grace);
  return new Promise((resolve) => {
    const finish = (answer) => {
      $('confirm-ok').removeEventListener('click', yes);
      $('confirm-cancel').removeEventListener('click', no);
      dialog.removeEventListener('cancel', no);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const yes = () => finish(Number($('grace').value));
    const no = () => finish(null);
    $('confirm-ok').addEventListener('click', yes);
    $('confirm-cancel').addEventListener('click', no);
    dialog.addEventListener('cancel', no);
    dialog.showModal();
  });
}

// --- The API --------------------------------------------------------------------------------

/** Every token of a status, following `Link: <…>; rel="next"` from page to page. */
async function allTokens(status) {
  const tokens = [];
  let path = `/tokens?status=${status}&limit=100`;
  for (let page = 0; path && page < MAX_PAGES; page++) {
    const response = await api('GET', path);
    tokens.push(...(await response.json()));
    const next = /<([^>]*)>\s*;\s*rel="next"/.exec(response.headers.get('Link') ?? '')?.[1];
    // Only a page of the same list, on this server.
    path = next && next.startsWith('/tokens?') ? next : null;
  }
  return tokens;
}

/**
 * Live, expired or revoked. The server's clock decides what is live (the `live` list), not the
 * browser's: the two may differ, and a rotated token in its grace period is revoked in the future
 * yet still live. A token that expired before it was revoked (revoking all revokes expired ones
 * too) shows as expired.
 */
function statusOf(token, liveIds) {
  if (liveIds.has(token.id)) return 'live';
  if (token.revokedAt === null) return 'expired';
  return token.expiresAt !== null && Date.parse(token.expiresAt) <= Date.parse(token.revokedAt) ? 'expired' : 'revoked';
}

/** The user's personal tokens with their status (the list has live login sessions too). */
async function loadTokens() {
  const [all, live] = await Promise.all([allTokens('all'), allTokens('live')]);
  const liveIds = new Set(live.map((token) => token.id));
  const personal = all.filter((token) => token.kind === 'personal');
  renderTokens(personal.map((token) => ({ ...token, status: statusOf(token, liveIds) })));
}

/**
 * The tokens of the caller's teams (`GET /teams`), apart from the caller's own: they are the
 * team's, made by any member, and outlive them. Shown only to members of a team.
 */
async function loadTeamTokens() {
  const teams = await (await api('GET', '/teams')).json();
  const body = $('team-tokens');
  body.replaceChildren();
  for (const team of teams) {
    for (const token of team.tokens) {
      const row = body.insertRow();
      row.dataset.tokenId = token.id;
      cell(row, team.name, 'team');
      cell(row, token.name, 'name');
      cell(row, token.scopes.join(' '), 'token-scopes');
      const hint = document.createElement('code');
      hint.textContent = token.hint;
      cell(row).append(hint);
      cell(row, token.createdBy === null ? '' : `user ${token.createdBy}`, 'created-by');
      cell(row, formatDate(token.expiresAt, 'Never'), 'date');
      // By the server's clock (`status`), which the browser's may not agree with.
      const badge = document.createElement('span');
      badge.className = `badge ${token.status}`;
      badge.textContent = token.status;
      cell(row, undefined, 'status').append(badge);
    }
  }
  show($('team-tokens-card'), body.rows.length > 0);
}

async function enterApp() {
  show($('sign-in'), false);
  const [me, scopes] = await Promise.all([
    api('GET', '/users/me').then((r) => r.json()),
    api('GET', '/settings/scopes').then((r) => r.json()),
  ]);
  $('account-name').textContent = me.username;
  renderScopes(scopes.scopes);
  await Promise.all([loadTokens(), loadTeamTokens()]);
  show($('account'), true);
  show($('app'), true);
}

function signedOut(message) {
  saveSession(null);
  dismissNewToken();
  $('tokens').replaceChildren();
  show($('app'), false);
  show($('account'), false);
  show($('error'), false);
  showNotice(message ?? '');
  show($('sign-in'), true);
  $('username').focus();
}

async function signIn(form) {
  const username = form.elements.username.value;
  const password = form.elements.password.value;
  const response = await send('POST', '/auth/login', { username, password });
  if (!response.ok) throw await errorOf(response);
  const login = await response.json();
  form.elements.password.value = '';
  saveSession({
    accessToken: login.accessToken,
    refreshToken: login.refreshToken,
    username: login.user?.username ?? username,
  });
  await enterApp();
}

async function signOut() {
  try {
    await api('POST', '/auth/logout');
  } catch (error) {
    // Ended already (SessionEnded): signed out either way. Otherwise say that the server still
    // has the session, which ends when its tokens expire.
    if (!(error instanceof SessionEnded)) {
      signedOut(`Signed out of this page, but the server could not end the session: ${error.message}`);
      return;
    }
  }
  signedOut('You are signed out.');
}

/**
 * The usage policy a form (to create or to edit a token) says, every part: `null` for one left
 * empty. The browser checks the numbers' ranges; the API checks the rest (an address that is none,
 * a uses period without maximum uses: its 400, shown as it says it).
 */
function policyOf(form) {
  const number = (name) => {
    const value = form.elements[name].value.trim();
    return value === '' ? null : Number(value);
  };
  const requests = number('rateLimit');
  const seconds = number('rateWindow');
  if (requests !== null && seconds === null)
    throw new ApiError(400, 'A rate limit needs a window: give its length in seconds');
  // No address or range has a comma or a space in it.
  const allowedIps = form.elements.allowedIps.value.split(/[\s,]+/).filter(Boolean);
  return {
    rateLimit: requests === null ? null : { limit: requests, window: seconds },
    maxUses: number('maxUses'),
    usesPeriod: number('usesPeriod'),
    allowedIps: allowedIps.length > 0 ? allowedIps : null,
  };
}

/**
 * The parts of a policy given, for a new token: one left out gets the app's default, if it has
 * one, where `null` would ask for none.
 */
function givenParts(policy) {
  return Object.fromEntries(Object.entries(policy).filter(([, value]) => value !== null));
}

/** Whether two values of a policy's part (`null`, a number, a rate limit, a list of addresses) are one. */
function samePart(a, b) {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) || Array.isArray(b))
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((value, i) => value === b[i]);
  return a.limit === b.limit && a.window === b.window;
}

/**
 * What the edit form changes of `token`: its name, and each part of its policy that differs, `null`
 * removing one. Only those: giving `maxUses` or `usesPeriod` again, even unchanged, would start the
 * period of uses anew.
 */
function changesOf(form, token) {
  const changes = {};
  const name = form.elements.name.value;
  if (name !== token.name) changes.name = name;
  for (const [part, value] of Object.entries(policyOf(form))) {
    if (!samePart(value, token[part] ?? null)) changes[part] = value;
  }
  return changes;
}

async function createToken(form) {
  const scopes = [...form.querySelectorAll('input[name="scope"]:checked')].map((input) => input.value);
  if (scopes.length === 0) throw new ApiError(400, 'Choose at least one scope');
  const name = form.elements.name.value;
  const response = await api('POST', '/tokens', {
    name,
    scopes,
    expiresIn: Number(form.elements.expiresIn.value),
    ...givenParts(policyOf(form)),
  });
  const created = await response.json();
  form.reset();
  showNewToken(created.name, created.token, '');
  await loadTokens();
}

async function rotate(token) {
  const grace = await confirmAction({
    title: `Rotate "${token.name}"?`,
    text: 'A new token with the same name, scopes and lifetime replaces it. Update whatever uses the old one.',
    ok: 'Rotate',
    grace: true,
  });
  if (grace === null) return;
  const response = await api('POST', `/tokens/${encodeURIComponent(token.id)}/rotate`, { graceSeconds: grace });
  const created = await response.json();
  const option = $('grace').querySelector(`option[value="${grace}"]`)?.textContent ?? '';
  showNewToken(
    created.name,
    created.token,
    grace === 0 ? 'The old token no longer works.' : `The old token keeps working ${option}.`,
  );
  await loadTokens();
}

/** The token the edit form is open for, or `null`. */
let editing = null;

/** Opens the edit form on `token`: its name and its policy as the list showed them. */
function openEdit(token) {
  const form = $('edit-form');
  const { elements } = form;
  const text = (value) => (value === null || value === undefined ? '' : String(value));
  editing = token;
  $('edit-title').textContent = `Edit "${token.name}"`;
  elements.name.value = token.name;
  elements.rateLimit.value = text(token.rateLimit?.limit);
  // A limit added here starts from a minute, as on the form that creates a token.
  elements.rateWindow.value = text(token.rateLimit?.window ?? 60);
  elements.maxUses.value = text(token.maxUses);
  elements.usesPeriod.value = text(token.usesPeriod);
  elements.allowedIps.value = (token.allowedIps ?? []).join(', ');
  editError('');
  $('edit').showModal();
}

function closeEdit() {
  editing = null;
  if ($('edit').open) $('edit').close();
}

/** What the API refused of the edit form, said by the form (the page behind it is out of reach). */
function editError(message) {
  $('edit-error').textContent = message;
  show($('edit-error'), Boolean(message));
}

/**
 * Sends what the edit form changed (`PATCH /tokens/:id`), then shows the token as the API answered
 * it in its row. A refusal is said by the form, which stays open as typed, and changes nothing on
 * the page; an ended session signs out as anywhere else.
 */
async function saveEdit(form) {
  const token = editing;
  if (!token) return;
  editError('');
  let updated;
  try {
    const changes = changesOf(form, token);
    if (Object.keys(changes).length === 0) {
      closeEdit();
      showNotice(`Nothing to save: token "${token.name}" is as it was.`);
      return;
    }
    updated = await (await api('PATCH', `/tokens/${encodeURIComponent(token.id)}`, changes)).json();
  } catch (error) {
    if (!(error instanceof ApiError)) {
      closeEdit();
      throw error;
    }
    editError(error.message);
    return;
  }
  closeEdit();
  const row = [...$('tokens').rows].find((candidate) => candidate.dataset.tokenId === token.id);
  if (row && updated.revokedAt === null) {
    // Only a live token has the form. The API changes a revoked one too: one revoked meanwhile
    // (from another tab, by a rotation) is left to the list, which says what it is now.
    fillRow(row, { ...updated, status: token.status });
    row.querySelector('button')?.focus();
  } else {
    await loadTokens();
  }
  showNotice(`Token "${updated.name}" is saved.`);
}

/** Pauses a token (refused as `paused`, nothing else changed) or resumes it. */
async function setEnabled(token, enabled) {
  await api('PATCH', `/tokens/${encodeURIComponent(token.id)}`, { enabled });
  await loadTokens();
  showNotice(
    enabled
      ? `Token "${token.name}" is resumed: it works again.`
      : `Token "${token.name}" is paused: it is refused until you resume it.`,
  );
}

async function revoke(token) {
  const answer = await confirmAction({
    title: `Revoke "${token.name}"?`,
    text: 'Anything using this token stops working at once.',
    ok: 'Revoke',
  });
  if (answer === null) return;
  await api('DELETE', `/tokens/${encodeURIComponent(token.id)}`);
  await loadTokens();
  showNotice(`Token "${token.name}" is revoked.`);
}

async function revokeAll() {
  const answer = await confirmAction({
    title: 'Revoke all your tokens?',
    text: 'Every personal token and every signed-in session, this one included, stops working at once. You will have to sign in again.',
    ok: 'Revoke all',
  });
  if (answer === null) return;
  await api('DELETE', '/tokens');
  // The session was one of them.
  signedOut('All your tokens and sessions are revoked. Sign in again to create new tokens.');
}

/**
 * Copies the new token: the Clipboard API where the page may use it (a secure context, and
 * permission), else the selection and `execCommand('copy')`, else the token left selected for
 * the user to copy by hand.
 */
async function copyToken() {
  const input = $('new-token-value');
  const status = $('copy-status');
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = 'Copied to the clipboard.';
    return;
  } catch {
    // No Clipboard API, or not allowed here: fall back on the selection.
  }
  input.focus();
  input.select();
  let copied;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  status.textContent = copied
    ? 'Copied to the clipboard.'
    : 'Copying is blocked here: the token is selected, press Ctrl+C (⌘C on a Mac) to copy it.';
}

// --- Wiring ---------------------------------------------------------------------------------

function onSubmit(form, action) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(form.querySelector('button[type="submit"]'), () => action(form));
  });
}

onSubmit($('sign-in-form'), signIn);
onSubmit($('create-form'), createToken);
onSubmit($('edit-form'), saveEdit);
$('edit-cancel').addEventListener('click', closeEdit);
// Escape closes the dialog by itself: forget the token it was open for.
$('edit').addEventListener('close', () => (editing = null));
$('sign-out').addEventListener('click', (event) => busy(event.currentTarget, signOut));
$('revoke-all').addEventListener('click', (event) => busy(event.currentTarget, revokeAll));
$('copy-token').addEventListener('click', () => copyToken());
$('dismiss-token').addEventListener('click', dismissNewToken);

if (session) {
  enterApp().catch(showError);
} else {
  signedOut();
}
