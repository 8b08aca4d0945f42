import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, renameSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { launchChromium } from './fixtures/browser.js';
import { testDatabaseKind } from './fixtures/database.js';
import { startDemoApp, type DemoApp } from './fixtures/demo-app.js';
import { TeamTokensService } from 'nestjs-access-tokens';
import { HTTP_ADAPTERS } from './fixtures/http-adapters.js';

/**
 * The demo's token settings page (`/`, src/settings-page/) in a real browser: headless Chromium,
 * from the npm registry (test/fixtures/browser.ts), driven by playwright-core. One walk per server through everything a user does there,
 * checking each step against the API as another client sees it; the page's screenshot in the
 * demo's guide (docs/demo.md) is taken on the way.
 */

const ADMIN = { username: 'admin', password: 'admin password 1' };
const SESSION_KEY = 'nestjs-access-tokens-demo.session';
/**
 * Where the screenshot goes: the picture of docs/demo.md with UPDATE_SCREENSHOT=1, else beside the run's
 * temporary files, so that a test run leaves the working tree as it was.
 */
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === '1'
    ? join(import.meta.dirname, '..', 'docs', 'settings-page.png')
    : join(tmpdir(), 'nestjs-access-tokens-settings-page.png');
const HTML_NAME = '<img src=x onerror=alert(1)>';
/** A raw token (a hint is `nat_…abcd`, with no run of characters this long). */
const RAW_TOKEN = /nat_(?:[sr]_)?[A-Za-z0-9]{20,}/;

/**
 * What the functions run in the page (`evaluate`) use of the browser's globals: the project
 * compiles for Node, without the DOM's types.
 */
declare const sessionStorage: { getItem(key: string): string | null };
declare const localStorage: Record<string, string>;
declare const navigator: { clipboard: { readText(): Promise<string>; writeText(text: string): Promise<void> } };
declare const document: { execCommand(command: string): boolean };
interface TextInput {
  value: string;
  selectionStart: number | null;
  selectionEnd: number | null;
}

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

describe.each(HTTP_ADAPTERS)(`the token settings page on $server, on ${testDatabaseKind()}`, ({ adapter }) => {
  let demo: DemoApp;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  /** Script errors, CSP violations and alert()s seen in the page: there should be none. */
  const problems: string[] = [];
  /** Raw tokens the walk got, by what they are. */
  const raw: Record<string, string> = {};
  /** The team the walk makes, whose token outlives the revocation of all the user's. */
  let teamId = 0;

  beforeAll(async () => {
    demo = await startDemoApp({ admin: ADMIN, httpAdapter: adapter });
    await demo.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(demo.app.getHttpServer().address() as AddressInfo).port}`;
    // UTC and en-US, so that the dates shown (from the test clock) read the same on every machine.
    context = await browser.newContext({
      baseURL: base,
      viewport: { width: 1000, height: 700 },
      locale: 'en-US',
      timezoneId: 'UTC',
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) problems.push(`CSP: ${message.text()}`);
    });
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
  });

  // The app first: it closes the browser's connections as it stops (forceCloseConnections), so
  // that neither waits on the other; a loaded CI machine once took over 30 s here.
  afterAll(async () => {
    await demo?.close();
    await context?.close();
  }, 60_000);

  /** `GET /users/me` with a token, as any client of the API sends it. */
  const me = (token: string) => fetch(`${base}/users/me`, { headers: { Authorization: `Bearer ${token}` } });
  /** A token as `GET /tokens` shows it to another client of the API, found by its raw value's hint. */
  async function listed(token: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${base}/tokens?status=all&limit=100`, {
      headers: { Authorization: `Bearer ${(await session())!.accessToken}` },
    });
    expect(response.status).toBe(200);
    const views = (await response.json()) as Array<Record<string, unknown>>;
    const view = views.find(({ hint }) => typeof hint === 'string' && hint.endsWith(hintOf(token)));
    expect(view).toBeDefined();
    return view!;
  }

  const text = async (locator: Locator) => (await locator.textContent())?.trim() ?? '';
  const row = (hint: string) => page.locator('#tokens tr').filter({ hasText: hint });
  const hintOf = (token: string) => `…${token.slice(-4)}`;
  const session = () =>
    page.evaluate(
      (key) => JSON.parse(sessionStorage.getItem(key) ?? 'null') as { accessToken: string } | null,
      SESSION_KEY,
    );

  async function signIn(password = ADMIN.password): Promise<void> {
    await page.locator('#username').fill(ADMIN.username);
    await page.locator('#password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** Creates a token with the form; returns the raw token the page shows. */
  async function create(name: string, scopes: string[], expiry: string): Promise<string> {
    await page.locator('#token-name').fill(name);
    for (const scope of scopes) await page.locator(`#scopes input[value="${scope}"]`).check();
    await page.locator('#token-expiry').selectOption(expiry);
    await page.getByRole('button', { name: 'Generate token' }).click();
    await page.locator('#new-token').waitFor();
    return page.locator('#new-token-value').inputValue();
  }

  const attributes = async (locator: Locator, name: string) =>
    Promise.all((await locator.all()).map((element) => element.getAttribute(name)));
  /** Clicks Copy, and waits for what the page says of it. */
  async function copy(said: string): Promise<void> {
    await page.locator('#copy-status').evaluate((status) => (status.textContent = ''));
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.locator('#copy-status').filter({ hasText: /./ }).waitFor();
    expect(await text(page.locator('#copy-status'))).toBe(said);
  }

  async function dismiss(): Promise<void> {
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await page.locator('#new-token').waitFor({ state: 'hidden' });
  }

  async function confirm(button: string, grace?: string): Promise<void> {
    await page.locator('#confirm').waitFor();
    if (grace !== undefined) await page.locator('#grace').selectOption(grace);
    await page.locator('#confirm-ok').filter({ hasText: button }).click();
    await page.locator('#confirm').waitFor({ state: 'hidden' });
  }

  it('serves the page, its script and its style with their types, a strict CSP and nosniff; the HTML is never cached', async () => {
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/settings/settings-page.js', 'text/javascript'],
      ['/settings/settings-page.css', 'text/css'],
    ] as const) {
      const response = await fetch(`${base}${path}`);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      expect(response.headers.get('content-type')).toBe(`${type}; charset=utf-8`);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'self';/);
      expect(response.headers.get('content-security-policy')).not.toContain('unsafe-inline');
      expect(response.headers.get('cache-control')).toBe(path === '/' ? 'no-store' : 'no-cache');
    }
    const html = await (await fetch(base)).text();
    // Nothing inline for the CSP to refuse: every script has a src, no handler attributes, no style.
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();
    expect(html.match(/\son[a-z]+=|\sstyle=/g)).toBeNull();
    // The scopes route needs a token like any other.
    expect((await fetch(`${base}/settings/scopes`)).status).toBe(401);
  });

  it('signs in, showing a wrong password plainly', async () => {
    await page.goto('/');
    await page.locator('#sign-in').waitFor();
    await signIn('not the password');
    await page.locator('#error').waitFor();
    expect(await text(page.locator('#error'))).toBe('Invalid user name or password (HTTP 401)');
    await signIn();
    await page.locator('#app').waitFor();
    expect(await text(page.locator('#account-name'))).toBe('admin');
    expect(await page.locator('#error').isHidden()).toBe(true);
    // The scopes offered are the admin's permissions.
    expect(await attributes(page.locator('#scopes input'), 'value')).toEqual([
      'tokens:read',
      'tokens:write',
      'users:admin',
      'users:read',
    ]);
    expect(await text(page.locator('#tokens-empty'))).toBe('You have no personal access tokens yet.');
  });

  it('creates a token with a scope and shows it once, with a copy button that works', async () => {
    raw.deploy = await create('CI deploy', ['users:read'], '604800');
    expect(raw.deploy).toMatch(/^nat_/);
    expect(await text(page.locator('#new-token-name'))).toBe('CI deploy');

    await copy('Copied to the clipboard.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(raw.deploy);

    // Where the Clipboard API is refused (no permission, no secure context), the selection is copied.
    await page.evaluate(async () => {
      await navigator.clipboard.writeText('something else');
      navigator.clipboard.writeText = () => Promise.reject(new DOMException('refused', 'NotAllowedError'));
    });
    await copy('Copied to the clipboard.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(raw.deploy);
    // Where that is refused too, the token is left selected, and the page says to copy it by hand.
    await page.evaluate(() => (document.execCommand = () => false));
    await copy('Copying is blocked here: the token is selected, press Ctrl+C (⌘C on a Mac) to copy it.');
    const selected = await page.locator('#new-token-value').evaluate((input) => {
      const { value, selectionStart, selectionEnd } = input as unknown as TextInput;
      return value.slice(selectionStart ?? 0, selectionEnd ?? 0);
    });
    expect(selected).toBe(raw.deploy);

    // The token works, with the one scope chosen.
    const response = await me(raw.deploy);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ username: 'admin' });
    expect((await fetch(`${base}/tokens`, { headers: { Authorization: `Bearer ${raw.deploy}` } })).status).toBe(403);
  });

  it('drops the raw token on reload, and lists the token with its hint', async () => {
    await page.reload();
    await page.locator('#app').waitFor();
    expect(await page.locator('#new-token').isHidden()).toBe(true);
    expect(await page.locator('#new-token-value').inputValue()).toBe('');
    expect(await page.content()).not.toContain(raw.deploy);
    expect(JSON.stringify(await page.evaluate(() => ({ ...sessionStorage })))).not.toContain(raw.deploy);

    const cells = await row(hintOf(raw.deploy)).locator('td').allTextContents();
    expect(cells.slice(0, 7)).toEqual([
      'CI deploy',
      // GET /users/me needs no scope: users:read, its only one, granted nothing yet.
      'users:readUnused scopes: users:read (never used)',
      expect.stringMatching(new RegExp(`^nat_…${raw.deploy.slice(-4)}$`)),
      'Jan 1, 2026, 00:00',
      'Jan 8, 2026, 00:00',
      // Used by the checks of the step before: when, from where, with what (Node's fetch).
      'Jan 1, 2026, 00:00127.0.0.1node',
      'live',
    ]);
    expect(await row(hintOf(raw.deploy)).locator('td.last-used small').allTextContents()).toEqual([
      '127.0.0.1',
      'node',
    ]);
  });

  it('rotates a token: the new one shown once, the old one working through the grace period chosen, then refused', async () => {
    // Ten minutes on, so that the two tokens of that name list in the order they were made.
    demo.clock.advance(600);
    const old = row(hintOf(raw.deploy));
    await old.getByRole('button', { name: 'Rotate' }).click();
    await confirm('Rotate', '3600');
    await page.locator('#new-token').waitFor();
    raw.rotated = await page.locator('#new-token-value').inputValue();
    expect(raw.rotated).toMatch(/^nat_/);
    expect(raw.rotated).not.toBe(raw.deploy);
    expect(await text(page.locator('#new-token-note'))).toBe('The old token keeps working for 1 hour.');
    expect((await me(raw.rotated)).status).toBe(200);
    expect((await me(raw.deploy)).status).toBe(200);

    await row(hintOf(raw.rotated)).waitFor();
    expect(await text(old.locator('td.status'))).toBe('liverotated, works until Jan 1, 2026, 01:10');
    expect(await old.getByRole('button').count()).toBe(0);
    await dismiss();

    // An hour later the old token is refused; the page's access token (900 s) expired meanwhile,
    // and the page refreshes its session to list the tokens again.
    demo.clock.advance(3601);
    expect((await me(raw.deploy)).status).toBe(401);
    const before = (await session())!.accessToken;
    await page.reload();
    await page
      .locator(`#tokens tr[data-status="revoked"]`)
      .filter({ hasText: hintOf(raw.deploy) })
      .waitFor();
    expect(await page.locator('#account-name').isVisible()).toBe(true);
    const after = (await session())!.accessToken;
    expect(after).not.toBe(before);
    expect((await me(before)).status).toBe(401);
    expect(await text(row(hintOf(raw.rotated)).locator('td.status'))).toBe('live');
  });

  it('revokes a token: its status is revoked, and the API refuses it', async () => {
    await row(hintOf(raw.rotated)).getByRole('button', { name: 'Revoke' }).click();
    await confirm('Revoke');
    await page.locator('#notice').filter({ hasText: 'Token "CI deploy" is revoked.' }).waitFor();
    expect(await text(row(hintOf(raw.rotated)).locator('td.status'))).toBe('revoked');
    expect(await row(hintOf(raw.rotated)).getByRole('button').count()).toBe(0);
    expect((await me(raw.rotated)).status).toBe(401);
  });

  it('renders a token name with HTML in it as text', async () => {
    raw.html = await create(HTML_NAME, ['tokens:read'], '86400');
    expect(await text(page.locator('#new-token-name'))).toBe(HTML_NAME);
    await dismiss();
    await row(hintOf(raw.html)).waitFor();
    expect(await text(row(hintOf(raw.html)).locator('td.name'))).toBe(HTML_NAME);
    expect(await page.locator('img').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('creates a token with usage limits and a uses period, showing what the API refuses of them, and lists the limits', async () => {
    // A minute on, so that it lists after the token of the step before.
    demo.clock.advance(60);
    await page.locator('#token-name').fill('Metered');
    await page.locator('#scopes input[value="users:read"]').check();
    await page.locator('#token-rate-limit').fill('10');
    await page.locator('#token-max-uses').fill('3');
    // Its three uses restored every hour.
    await page.locator('#token-uses-period').fill('3600');
    // One address that is none: the API's 400 is shown as it says it, and no token is made.
    await page.locator('#token-allowed-ips').fill('127.0.0.0/8\nnot-an-address');
    const rows = await page.locator('#tokens tr').count();
    await page.getByRole('button', { name: 'Generate token' }).click();
    await page.locator('#error').waitFor();
    expect(await text(page.locator('#error'))).toBe(
      'allowedIps: "not-an-address" is not an IPv4 or IPv6 address or CIDR range (HTTP 400)',
    );
    expect(await page.locator('#new-token').isHidden()).toBe(true);
    expect(await page.locator('#tokens tr').count()).toBe(rows);

    // The form kept what was typed: only the addresses need correcting, commas or lines between them.
    await page.locator('#token-allowed-ips').fill('127.0.0.0/8, ::1');
    await page.getByRole('button', { name: 'Generate token' }).click();
    await page.locator('#new-token').waitFor();
    raw.metered = await page.locator('#new-token-value').inputValue();
    expect(await page.locator('#error').isHidden()).toBe(true);
    await dismiss();
    const metered = row(hintOf(raw.metered));
    await metered.waitFor();
    expect(await text(metered.locator('td.name'))).toBe('Metered');
    expect(await text(metered.locator('td.status'))).toBe('live');
    expect(await metered.locator('td.limits > span').allTextContents()).toEqual([
      '10 requests per minute',
      // Made at 01:11 by the test clock: the first use after 02:11 restores them.
      '3 of 3 uses left, restored every hour (next after Jan 1, 2026, 02:11)',
      'From 127.0.0.0/8, ::1',
    ]);
    // What the API made of the form, as another client sees it.
    expect(await listed(raw.metered)).toMatchObject({
      rateLimit: { limit: 10, window: 60 },
      maxUses: 3,
      usesLeft: 3,
      usesPeriod: 3600,
      usesRenewAt: '2026-01-01T02:11:01.000Z',
      allowedIps: ['127.0.0.0/8', '::1'],
    });
    // A token without limits says so.
    expect(await text(row(hintOf(raw.html)).locator('td.limits'))).toBe('None');
    // It works from this machine, inside its range, and the use counts.
    expect((await me(raw.metered)).status).toBe(200);
  });

  it('pauses a token, which the API then refuses, and resumes it', async () => {
    const metered = row(hintOf(raw.metered));
    await metered.getByRole('button', { name: 'Pause' }).click();
    await page.locator('#notice').filter({ hasText: 'Token "Metered" is paused' }).waitFor();
    expect(await text(page.locator('#notice'))).toBe('Token "Metered" is paused: it is refused until you resume it.');
    expect(await text(metered.locator('td.status'))).toBe('paused');
    expect(await metered.getByRole('button').allTextContents()).toEqual(['Edit', 'Resume', 'Rotate', 'Revoke']);
    // The list was read again: the use of the step before shows.
    expect(await text(metered.locator('td.limits .limit-uses'))).toBe(
      '2 of 3 uses left, restored every hour (next after Jan 1, 2026, 02:11)',
    );
    const refused = await me(raw.metered);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ reason: 'paused' });

    await metered.getByRole('button', { name: 'Resume' }).click();
    await page.locator('#notice').filter({ hasText: 'Token "Metered" is resumed' }).waitFor();
    expect(await text(page.locator('#notice'))).toBe('Token "Metered" is resumed: it works again.');
    expect(await text(metered.locator('td.status'))).toBe('live');
    expect(await metered.getByRole('button').allTextContents()).toEqual(['Edit', 'Pause', 'Rotate', 'Revoke']);
    expect((await me(raw.metered)).status).toBe(200);
    expect(problems).toEqual([]);
  });

  /** Clicks Save in the edit form; returns the body of the PATCH it sent. */
  async function save(): Promise<unknown> {
    const sent = page.waitForRequest((request) => request.method() === 'PATCH');
    await page.locator('#edit').getByRole('button', { name: 'Save' }).click();
    return (await sent).postDataJSON();
  }

  it("edits a token's rate limit and addresses: the form starts from the token, sends only what changed, and the row shows the answer", async () => {
    const metered = row(hintOf(raw.metered));
    const before = await listed(raw.metered);
    await metered.getByRole('button', { name: 'Edit' }).click();
    await page.locator('#edit').waitFor();
    expect(await text(page.locator('#edit-title'))).toBe('Edit "Metered"');
    const fields = ['name', 'rate-limit', 'rate-window', 'max-uses', 'uses-period', 'allowed-ips'];
    const values = () => Promise.all(fields.map((field) => page.locator(`#edit-${field}`).inputValue()));
    expect(await values()).toEqual(['Metered', '10', '60', '3', '3600', '127.0.0.0/8, ::1']);

    await page.locator('#edit-rate-limit').fill('20');
    await page.locator('#edit-rate-window').fill('300');
    await page.locator('#edit-allowed-ips').fill('127.0.0.1\n::1');
    // Neither the quota nor its period: given again, they would start the period anew.
    expect(await save()).toEqual({ rateLimit: { limit: 20, window: 300 }, allowedIps: ['127.0.0.1', '::1'] });
    await page.locator('#edit').waitFor({ state: 'hidden' });
    expect(await text(page.locator('#notice'))).toBe('Token "Metered" is saved.');
    expect(await page.locator('#error').isHidden()).toBe(true);
    // The row, from the API's answer: the use of the step before shows too.
    expect(await metered.locator('td.limits > span').allTextContents()).toEqual([
      '20 requests per 5 minutes',
      '1 of 3 uses left, restored every hour (next after Jan 1, 2026, 02:11)',
      'From 127.0.0.1, ::1',
    ]);
    expect(await text(metered.locator('td.status'))).toBe('live');
    expect(await metered.getByRole('button').allTextContents()).toEqual(['Edit', 'Pause', 'Rotate', 'Revoke']);
    expect(await listed(raw.metered)).toEqual({
      ...before,
      rateLimit: { limit: 20, window: 300 },
      allowedIps: ['127.0.0.1', '::1'],
      // Written off the request path: the resumed token's use may land after \`before\` was read.
      lastUsedAt: expect.any(String),
    });
    // It works from this address, which its new list has.
    expect((await me(raw.metered)).status).toBe(200);
    expect(problems).toEqual([]);
  });

  it("shows the API's 400 by the edit form, changing nothing; then removes a limit and renames the token", async () => {
    const metered = row(hintOf(raw.metered));
    const before = await listed(raw.metered);
    const cells = await metered.locator('td').allTextContents();
    await metered.getByRole('button', { name: 'Edit' }).click();
    await page.locator('#edit').waitFor();
    await page.locator('#edit-allowed-ips').fill('127.0.0.1, 10.0.0.256');
    expect(await save()).toEqual({ allowedIps: ['127.0.0.1', '10.0.0.256'] });
    await page.locator('#edit-error').waitFor();
    expect(await text(page.locator('#edit-error'))).toBe(
      'allowedIps: "10.0.0.256" is not an IPv4 or IPv6 address or CIDR range (HTTP 400)',
    );
    // The form stays open with what was typed, to be corrected; the page and the token are as they were.
    expect(await page.locator('#edit').isVisible()).toBe(true);
    expect(await page.locator('#edit-allowed-ips').inputValue()).toBe('127.0.0.1, 10.0.0.256');
    expect(await page.locator('#error').isHidden()).toBe(true);
    expect(await listed(raw.metered)).toEqual(before);
    await page.locator('#edit').getByRole('button', { name: 'Cancel' }).click();
    await page.locator('#edit').waitFor({ state: 'hidden' });
    expect(await metered.locator('td').allTextContents()).toEqual(cells);

    // Opened again, it starts from the token once more, with no error left from before.
    await metered.getByRole('button', { name: 'Edit' }).click();
    await page.locator('#edit').waitFor();
    expect(await page.locator('#edit-allowed-ips').inputValue()).toBe('127.0.0.1, ::1');
    expect(await page.locator('#edit-error').isHidden()).toBe(true);
    // An emptied field removes its part (null), as the API takes it.
    await page.locator('#edit-name').fill('Metered export');
    await page.locator('#edit-rate-limit').fill('');
    expect(await save()).toEqual({ name: 'Metered export', rateLimit: null });
    await page.locator('#edit').waitFor({ state: 'hidden' });
    expect(await text(page.locator('#notice'))).toBe('Token "Metered export" is saved.');
    expect(await text(metered.locator('td.name'))).toBe('Metered export');
    expect(await metered.locator('td.limits > span').allTextContents()).toEqual([
      '0 of 3 uses left, restored every hour (next after Jan 1, 2026, 02:11)',
      'From 127.0.0.1, ::1',
    ]);
    expect(await listed(raw.metered)).toMatchObject({
      name: 'Metered export',
      rateLimit: null,
      maxUses: 3,
      usesPeriod: 3600,
      allowedIps: ['127.0.0.1', '::1'],
    });
    expect(problems).toEqual([]);
  });

  it('marks a canary token as such, offering only to revoke it', async () => {
    const issued = await fetch(`${base}/tokens`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${(await session())!.accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Tripwire', canary: true }),
    });
    expect(issued.status).toBe(201);
    const canary = (await issued.json()) as { token: string };
    await page.reload();
    const tripwire = row(hintOf(canary.token));
    await tripwire.waitFor();
    expect(await tripwire.locator('td.status .badge').allTextContents()).toEqual(['live', 'canary']);
    expect(await tripwire.getByRole('button').allTextContents()).toEqual(['Revoke']);
    expect((await me(canary.token)).status).toBe(401);
    expect(problems).toEqual([]);
  });

  it('shows an expired token as expired, and the list with no secret in it', async () => {
    demo.clock.advance(600);
    raw.grafana = await create('Grafana dashboard', ['users:read', 'tokens:read'], '7776000');
    await dismiss();
    // Used by a dashboard, which reads a user (users:read) and never a token (tokens:read).
    const asGrafana = { Authorization: `Bearer ${raw.grafana}`, 'User-Agent': 'Grafana/11.3.0' };
    const { id } = (await (await fetch(`${base}/users/me`, { headers: asGrafana })).json()) as { id: number };
    expect((await fetch(`${base}/users/${id}`, { headers: asGrafana })).status).toBe(200);
    // A day on, the one-day token has expired; the page refreshes its session again.
    demo.clock.advance(86401);
    expect((await me(raw.html)).status).toBe(401);
    await page.reload();
    await page
      .locator('#tokens tr[data-status="expired"]')
      .filter({ hasText: hintOf(raw.html) })
      .waitFor();
    // Grafana's, the canary, Metered.
    expect(await attributes(page.locator('#tokens tr'), 'data-status')).toEqual([
      'live',
      'live',
      'live',
      'expired',
      'revoked',
      'revoked',
    ]);
    // What the dashboard's token did: from where, with what, and the scope it never needed.
    const grafana = row(hintOf(raw.grafana));
    expect(await grafana.locator('td.last-used small').allTextContents()).toEqual(['127.0.0.1', 'Grafana/11.3.0']);
    expect(await text(grafana.locator('.unused-scopes'))).toBe('Unused scopes: tokens:read (never used)');
    expect(await grafana.locator('.scope.unused').allTextContents()).toEqual(['tokens:read']);
    // A token never used has all its scopes unused.
    expect(await text(row(hintOf(raw.html)).locator('td.last-used'))).toBe('Never used');
    // The picture in docs/demo.md: no raw token in the page (hints only), nothing that would work.
    expect(await page.content()).not.toMatch(RAW_TOKEN);
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    const shot = `${SCREENSHOT}.${process.pid}.tmp`;
    await page.screenshot({ path: shot, type: 'png' });
    // Renamed into place: a reader of the file never sees half of one.
    renameSync(shot, SCREENSHOT);
    process.stdout.write(`settings page screenshot: ${SCREENSHOT}\n`);
  });

  it("lists the tokens of the user's teams apart, with who made them; revoking all the user's leaves them", async () => {
    const signedIn = (await session())!.accessToken;
    const post = (path: string, body: object) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${signedIn}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(await page.locator('#team-tokens-card').isHidden()).toBe(true);
    teamId = ((await (await post('/teams', { name: 'ops' })).json()) as { id: number }).id;
    const issued = await post(`/teams/${teamId}/tokens`, { name: 'deploys', scopes: ['teams:read'] });
    raw.team = ((await issued.json()) as { token: string }).token;
    await page.reload();
    await page.locator('#team-tokens-card').waitFor();
    const cells = await page.locator('#team-tokens tr').locator('td').allTextContents();
    expect(cells).toEqual([
      'ops',
      'deploys',
      'teams:read',
      `nat_…${raw.team.slice(-4)}`,
      'user 1',
      expect.stringMatching(/^[A-Z][a-z]{2} \d+, 2026, \d\d:\d\d$/),
      'live',
    ]);
    expect(await page.content()).not.toContain(raw.team);
  });

  it('revokes all: every token and the session stop working, and the page signs out', async () => {
    await page.getByRole('button', { name: 'Revoke all' }).click();
    await confirm('Revoke all');
    await page.locator('#sign-in').waitFor();
    expect(await text(page.locator('#notice'))).toBe(
      'All your tokens and sessions are revoked. Sign in again to create new tokens.',
    );
    expect(await session()).toBeNull();
    expect((await me(raw.grafana)).status).toBe(401);
    expect((await me(raw.metered)).status).toBe(401);
    // The team's token is the team's: revoking all the user's leaves it working.
    const [teamToken] = await demo.app.get(TeamTokensService).list(teamId);
    expect(teamToken).toMatchObject({ name: 'deploys', revokedAt: null });
    const show = await fetch(`${base}/teams/${teamId}`, { headers: { Authorization: `Bearer ${raw.team!}` } });
    expect(show.status).toBe(200);
  });

  it('signs in again, then out: the session ends on the server too', async () => {
    await signIn();
    await page.locator('#app').waitFor();
    expect(await attributes(page.locator('#tokens tr'), 'data-status')).toEqual([
      'revoked',
      'revoked',
      'revoked',
      'expired',
      'revoked',
      'revoked',
    ]);
    expect(await page.getByRole('button', { name: 'Revoke all' }).isHidden()).toBe(true);
    const signedIn = (await session())!.accessToken;
    expect((await me(signedIn)).status).toBe(200);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor();
    expect(await text(page.locator('#notice'))).toBe('You are signed out.');
    expect(await session()).toBeNull();
    expect((await me(signedIn)).status).toBe(401);
    await page.reload();
    await page.locator('#sign-in').waitFor();
    expect(await page.locator('#app').isHidden()).toBe(true);
    expect(problems).toEqual([]);
  });

  it('serves Swagger UI at /docs under a CSP it runs under, unframeable, and keeps no pasted token', async () => {
    for (const path of ['/docs', '/docs/', '/docs/swagger-ui-init.js', '/docs/swagger-ui-bundle.js']) {
      const response = await fetch(`${base}${path}`);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      expect(response.headers.get('content-security-policy')).toMatch(/^default-src 'self';.*frame-ancestors 'none'/);
      expect(response.headers.get('content-security-policy')).not.toMatch(/script-src|unsafe-eval/);
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const { token } = (await (
      await fetch(`${base}/tokens/generate`, {
        method: 'POST',
        headers: { Authorization: `Basic ${Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64')}` },
      })
    ).json()) as { token: string };
    await page.goto('/docs');
    await page.locator('.opblock').first().waitFor();
    await page.getByRole('button', { name: 'Authorize' }).first().click();
    await page.locator('#auth-bearer-value').fill(token);
    await page.locator('.auth-container').first().getByRole('button', { name: 'Apply credentials' }).click();
    await page.locator('.auth-container').first().getByRole('button', { name: 'Remove authorization' }).waitFor();
    await page.locator('.auth-container').first().getByRole('button', { name: 'Close' }).click();
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    expect(stored).not.toContain(token);
    await page.reload();
    await page.locator('.opblock').first().waitFor();
    expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain(token);
    expect(problems).toEqual([]);
  });
});
