// Debian's chromium under playwright-core, with recorders of what a page
// does: every request, console errors, page errors, CSP violations.
// Never downloads a browser: executablePath is the Debian package's.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.SHOP_CHROMIUM || '/usr/bin/chromium';

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// Runs in every page before its own scripts (Page.addScriptToEvaluateOnNewDocument,
// which the page's CSP does not govern): records CSP violations and each text
// the order status element shows, so a test sees "pending" even when it lasts
// a few milliseconds, and with it where the page got it (data-source).
function pageRecorder() {
  window.__shopTest = { csp: [], statuses: [], sources: [] };
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__shopTest.csp.push({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
  });
  const watch = () => {
    const note = () => {
      const el = document.querySelector('[data-test=order-status]');
      const seen = window.__shopTest.statuses;
      const text = el && el.dataset.orderId ? el.textContent : '';
      if (text && seen[seen.length - 1] !== text) seen.push(text);
      // each status with what brought it (data-source: stream, poll, none)
      const sources = window.__shopTest.sources;
      const both = text ? text + '/' + (el.dataset.source || '') : '';
      if (both && sources[sources.length - 1] !== both) sources.push(both);
    };
    new MutationObserver(note).observe(document.body, {
      subtree: true, childList: true, characterData: true, attributes: true,
    });
    note();
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', watch);
  else watch();
}

// A fresh browser profile; returns { context, page, record, close }.
export async function openBrowser({ viewport, isMobile } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'shop-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: viewport || { width: 1280, height: 860 },
    isMobile: Boolean(isMobile),
    hasTouch: Boolean(isMobile),
    deviceScaleFactor: 1,
    timeout: 30000,
  });
  const record = { requests: [], console: [], pageErrors: [], navigations: 0 };
  context.on('request', (r) => record.requests.push({ method: r.method(), url: r.url() }));
  await context.addInitScript(pageRecorder);
  const page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('console', (m) => {
    if (m.type() === 'error') record.console.push({ text: m.text(), url: m.location().url || '' });
  });
  page.on('pageerror', (e) => record.pageErrors.push(String(e && e.message ? e.message : e)));
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) record.navigations += 1; });
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, page, record, close };
}

export async function screenshot(page, dir, name) {
  try {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, name + '.png');
    await page.screenshot({ path, fullPage: true, timeout: 10000 });
    return path;
  } catch (e) {
    return 'no screenshot: ' + e.message;
  }
}

// Positive controls for the recorders, run after a scenario: a request to
// another origin from a second page of the same browser, a console error, an
// uncaught exception and a CSP violation (an inline style). Each must show up
// in what the recorders saw after `mark`; the scenario's own part is before it.
export async function runControls(context, page, record, foreignUrl) {
  const mark = {
    requests: record.requests.length, console: record.console.length,
    pageErrors: record.pageErrors.length,
  };
  const cspBefore = await page.evaluate(() => window.__shopTest.csp.length);
  if (foreignUrl) {
    const other = await context.newPage();
    await other.goto(foreignUrl).catch(() => {});
    await other.close();
  }
  await page.evaluate(() => {
    console.error('control: console error');
    setTimeout(() => { throw new Error('control: uncaught'); }, 0);
    document.body.insertAdjacentHTML('beforeend', '<p id="control-style" style="color: red">control</p>');
  });
  await page.waitForFunction((n) => window.__shopTest.csp.length > n, cspBefore, { timeout: 5000 }).catch(() => {});
  await page.waitForTimeout(200);
  const csp = await page.evaluate(() => window.__shopTest.csp);
  return {
    mark,
    requests: record.requests.slice(mark.requests),
    console: record.console.slice(mark.console),
    pageErrors: record.pageErrors.slice(mark.pageErrors),
    csp: csp.slice(cspBefore),
  };
}
