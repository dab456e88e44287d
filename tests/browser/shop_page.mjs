// Drives the shop page `/` through one scenario in a real browser and prints
// what it saw as one JSON line; tests/integration/test_browser.py asserts on it.
//
//   node shop_page.mjs --url http://127.0.0.1:PORT/ --scenario NAME --out DIR
//        [--foreign URL] [--sku SKU ...] [--token ADMIN-TOKEN]
//
// The report: { scenario, ok, error?, screenshots: [...], seen: {...},
// requests, console, pageErrors, csp, navigations, controls }. A screenshot of
// the page is always written to DIR (the test's data dir, kept on failure).
import { parseArgs } from 'node:util';
import { openBrowser, runControls, screenshot } from './browser.mjs';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    scenario: { type: 'string' },
    out: { type: 'string', default: '.' },
    foreign: { type: 'string' },
    sku: { type: 'string', multiple: true, default: [] },
    token: { type: 'string' },
  },
});

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true };

const product = (sku) => `[data-test=product][data-sku="${sku}"]`;

async function statusText(page) {
  return page.locator('[data-test=order-status]').textContent();
}

// Waits until the order status element shows one of `words`; returns it.
async function waitStatus(page, words, timeout = 20000) {
  await page.waitForFunction((w) => {
    const el = document.querySelector('[data-test=order-status]');
    return el && el.dataset.orderId && w.includes(el.textContent);
  }, words, { timeout });
  return statusText(page);
}

async function openShop(page) {
  await page.goto(opts.url);
  await page.locator('[data-test=product]').first().waitFor();
  // a token that a reload would lose: "live without reload" is checked by it
  await page.evaluate(() => { window.__shopTestToken = 'loaded-once'; });
}

async function available(page, sku) {
  return Number(await page.locator(`${product(sku)} [data-test=available]`).textContent());
}

// What the page shows of the current order and the list of orders.
async function orderView(page) {
  return page.evaluate(() => {
    const q = (sel) => document.querySelector(sel);
    const status = q('[data-test=order-status]');
    return {
      orderId: status ? status.dataset.orderId || null : null,
      status: status ? status.textContent : null,
      statuses: window.__shopTest.statuses.slice(),
      total: q('[data-test=total]') ? q('[data-test=total]').textContent : null,
      totalVisible: Boolean(q('[data-test=total]') && q('[data-test=total]').offsetParent),
      reason: q('[data-test=reason]') ? q('[data-test=reason]').textContent : null,
      reasonVisible: Boolean(q('[data-test=reason]') && q('[data-test=reason]').offsetParent),
      cancelVisible: Boolean(q('[data-test=cancel]') && q('[data-test=cancel]').offsetParent),
      statusLive: status ? (status.closest('[aria-live]') || {}).getAttribute?.('aria-live') || null : null,
      listed: Array.from(document.querySelectorAll('[data-test=placed-order]'),
        (li) => ({ orderId: li.dataset.orderId, status: li.dataset.status })),
      sameDocument: window.__shopTestToken === 'loaded-once',
    };
  });
}

async function addToCart(page, sku, times = 1) {
  for (let i = 0; i < times; i++) await page.locator(`${product(sku)} [data-test=add]`).click();
}

// ---- scenarios: each returns what it saw

const scenarios = {
  // Two products into the cart, checkout, confirmed with the total, no reload;
  // then a reload still lists the order with its status.
  async checkout(page, shots) {
    const [a, b] = opts.sku;
    await openShop(page);
    const prices = {
      [a]: await page.locator(`${product(a)} [data-test=price]`).textContent(),
      [b]: await page.locator(`${product(b)} [data-test=price]`).textContent(),
    };
    await addToCart(page, a, 1);
    await addToCart(page, b, 2);
    const cartText = await page.locator('[data-test=cart]').innerText();
    shots.push(await screenshot(page, opts.out, 'browser-checkout-cart'));
    await page.locator('[data-test=checkout]').click();
    await waitStatus(page, ['confirmed', 'rejected', 'canceled']);
    const view = await orderView(page);
    shots.push(await screenshot(page, opts.out, 'browser-checkout-desktop'));
    await page.setViewportSize(PHONE.viewport);
    shots.push(await screenshot(page, opts.out, 'browser-checkout-phone'));
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.reload();
    await page.locator('[data-test=placed-order]').first().waitFor();
    await waitStatus(page, ['confirmed', 'rejected', 'canceled']);
    const afterReload = await orderView(page);
    const cartAfter = await page.locator('[data-test=cart] [data-test=checkout]').isDisabled();
    return { prices, cartText, view, afterReload, checkoutDisabledAfter: cartAfter };
  },

  // Both clicks of a double click reach the button.
  async double_click(page) {
    const [a] = opts.sku;
    await openShop(page);
    await addToCart(page, a, 1);
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/api/v1/orders')) {
        posts.push(r.headers()['idempotency-key'] || null);
      }
    });
    await page.locator('[data-test=checkout]').dblclick();
    await waitStatus(page, ['confirmed', 'rejected', 'canceled']);
    return { posts, view: await orderView(page) };
  },

  // The answer to the first POST is lost after the shop got it: the page
  // tries again with the same Idempotency-Key.
  async lost_answer(page) {
    const [a] = opts.sku;
    await openShop(page);
    await addToCart(page, a, 1);
    const posts = [];
    let dropped = null;
    await page.route('**/api/v1/orders', async (route) => {
      const req = route.request();
      if (req.method() !== 'POST') return route.continue();
      posts.push(req.headers()['idempotency-key'] || null);
      if (dropped === null) {
        const r = await route.fetch(); // reaches the shop ...
        dropped = { status: r.status(), body: await r.text() };
        return route.abort('connectionreset'); // ... but the page never hears back
      }
      return route.continue();
    });
    await page.locator('[data-test=checkout]').click();
    await waitStatus(page, ['confirmed', 'rejected', 'canceled']);
    return { posts, dropped, view: await orderView(page) };
  },

  // Confirmed, then canceled; the stock shown drops and comes back.
  async cancel(page) {
    const [a] = opts.sku;
    await openShop(page);
    const before = await available(page, a);
    await addToCart(page, a, 2);
    await page.locator('[data-test=checkout]').click();
    const first = await waitStatus(page, ['confirmed', 'rejected', 'canceled']);
    await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).textContent) !== n,
      [`${product(a)} [data-test=available]`, before], { timeout: 10000 }).catch(() => {});
    const whileConfirmed = await available(page, a);
    await page.locator('[data-test=cancel]').click();
    const last = await waitStatus(page, ['canceled']);
    await page.waitForFunction(([sel, n]) => Number(document.querySelector(sel).textContent) === n,
      [`${product(a)} [data-test=available]`, before], { timeout: 10000 }).catch(() => {});
    return {
      first, last, before, whileConfirmed, after: await available(page, a),
      view: await orderView(page),
    };
  },

  // The cart holds the last one of a product; another shopper buys it first.
  async rejected(page, shots) {
    const [a] = opts.sku;
    await openShop(page);
    const inStock = await available(page, a);
    await addToCart(page, a, inStock);
    const other = await fetch(new URL('/api/v1/orders', opts.url), {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ items: [{ sku: a, qty: inStock }] }),
    });
    const otherOrder = await other.json();
    const otherId = otherOrder.order_id;
    for (let i = 0; i < 200; i++) { // the other shopper's order decided first
      const r = await fetch(new URL('/api/v1/orders/' + otherId, opts.url));
      if (r.ok && (await r.json()).status !== 'pending') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await page.locator('[data-test=checkout]').click();
    await waitStatus(page, ['confirmed', 'rejected', 'canceled']);
    shots.push(await screenshot(page, opts.out, 'browser-rejected'));
    return { inStock, otherId, view: await orderView(page) };
  },

  // Only the keyboard: Tab to the product's button, Enter, Tab to checkout, Enter.
  async keyboard(page) {
    const [a] = opts.sku;
    await openShop(page);
    const target = `${product(a)} [data-test=add]`;
    const outlineUnfocused = await page.locator(target).evaluate((el) => getComputedStyle(el).outlineStyle);
    const tabTo = async (selector) => {
      for (let i = 1; i <= 40; i++) {
        await page.keyboard.press('Tab');
        if (await page.evaluate((s) => document.activeElement === document.querySelector(s), selector)) return i;
      }
      return -1;
    };
    const tabsToAdd = await tabTo(target);
    const outlineFocused = await page.evaluate(() => {
      const s = getComputedStyle(document.activeElement);
      return { style: s.outlineStyle, width: s.outlineWidth };
    });
    await page.keyboard.press('Enter');
    const cartLines = await page.locator('[data-test=cart] li').count();
    const tabsToCheckout = await tabTo('[data-test=checkout]');
    await page.keyboard.press('Enter');
    await waitStatus(page, ['confirmed', 'rejected', 'canceled']);
    const focusAfter = await page.evaluate(() => document.activeElement && document.activeElement.id);
    return {
      outlineUnfocused, outlineFocused, tabsToAdd, cartLines, tabsToCheckout, focusAfter,
      view: await orderView(page),
    };
  },

  // The admin page: a wrong token is refused with an error; the right one
  // shows the stock; a restock there shows on the shop page.
  async admin(page, shots) {
    const [sku] = opts.sku;
    const row = `[data-test=stock-row][data-sku="${sku}"]`;
    await page.goto(new URL('/admin', opts.url).href);
    await page.locator('[data-test=admin-token]').fill('wrong-' + opts.token);
    await page.locator('[data-test=login]').click();
    const error = page.locator('[data-test=admin-error]');
    await page.waitForFunction(() => document.querySelector('[data-test=admin-error]').textContent !== '');
    const wrongToken = {
      error: await error.textContent(),
      stockShown: await page.locator('[data-test=stock-row]').count(),
    };
    shots.push(await screenshot(page, opts.out, 'browser-admin-wrong-token'));
    await page.locator('[data-test=admin-token]').fill(opts.token);
    await page.locator('[data-test=login]').click();
    await page.locator(row).waitFor();
    const before = Number(await page.locator(`${row} [data-test=available]`).textContent());
    await page.locator(`${row} [data-test=restock-qty]`).fill('7');
    await page.locator(`${row} [data-test=restock]`).click();
    await page.waitForFunction(([sel, want]) => {
      const el = document.querySelector(sel + ' [data-test=available]');
      return el && Number(el.textContent) === want;
    }, [row, before + 7]);
    const afterAdmin = Number(await page.locator(`${row} [data-test=available]`).textContent());
    shots.push(await screenshot(page, opts.out, 'browser-admin-page'));
    const tokenKept = await page.evaluate(() => sessionStorage.getItem('shop.admin.token') !== null);
    // a reload of the tab keeps the login (sessionStorage)
    await page.reload();
    await page.locator(row).waitFor();
    const afterReload = Number(await page.locator(`${row} [data-test=available]`).textContent());
    await openShop(page);
    const shopShows = await available(page, sku);
    return { wrongToken, before, afterAdmin, tokenKept, afterReload, shopShows };
  },

  // A phone: taps, one column, nothing wider than the screen.
  async phone(page, shots) {
    const [a] = opts.sku;
    await openShop(page);
    const layout = await page.evaluate(() => ({
      viewport: window.innerWidth,
      scrollWidth: document.documentElement.scrollWidth,
      viewportMeta: (document.querySelector('meta[name=viewport]') || {}).content || null,
    }));
    await page.locator(`${product(a)} [data-test=add]`).tap();
    await page.locator('[data-test=checkout]').tap();
    await waitStatus(page, ['confirmed', 'rejected', 'canceled']);
    shots.push(await screenshot(page, opts.out, 'browser-phone'));
    const widthAfter = await page.evaluate(() => document.documentElement.scrollWidth);
    return { layout, widthAfter, view: await orderView(page) };
  },
};

async function main() {
  const scenario = scenarios[opts.scenario];
  const report = { scenario: opts.scenario, ok: false, screenshots: [] };
  if (!opts.url || !scenario) {
    report.error = 'usage: --url URL --scenario ' + Object.keys(scenarios).join('|');
    process.stdout.write(JSON.stringify(report) + '\n');
    process.exitCode = 2;
    return;
  }
  const browser = await openBrowser(opts.scenario === 'phone' ? PHONE : {});
  const { context, page, record } = browser;
  try {
    report.seen = await scenario(page, report.screenshots);
    report.screenshots.push(await screenshot(page, opts.out, 'browser-' + opts.scenario));
    report.csp = await page.evaluate(() => window.__shopTest.csp);
    report.requests = record.requests.slice();
    report.console = record.console.slice();
    report.pageErrors = record.pageErrors.slice();
    report.navigations = record.navigations;
    report.controls = await runControls(context, page, record, opts.foreign);
    report.ok = true;
  } catch (e) {
    report.error = String(e && e.stack ? e.stack : e);
    report.screenshots.push(await screenshot(page, opts.out, 'browser-' + opts.scenario + '-failed'));
    report.requests = record.requests.slice();
    report.console = record.console.slice();
    report.pageErrors = record.pageErrors.slice();
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ scenario: opts.scenario, ok: false, error: String(e && e.stack ? e.stack : e) }) + '\n');
  process.exitCode = 1;
});
