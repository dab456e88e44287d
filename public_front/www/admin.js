// The admin page: the admin token typed once and kept for this tab
// (sessionStorage), stock with restock (an Idempotency-Key per click), add a
// product or change one, orders by status with a re-drive for a stuck one,
// and each daemon's dead letters. The API is docs/protocol.md §HTTP API.
'use strict';

(function () {
  const API = '/api/v1/admin';
  const TOKEN_KEY = 'shop.admin.token';
  const $ = (id) => document.getElementById(id);
  const fromTemplate = (id) => $(id).content.firstElementChild.cloneNode(true);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  let token = null;
  try { token = sessionStorage.getItem(TOKEN_KEY); } catch (e) { token = null; }

  function keepToken(t) {
    token = t;
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      // storage off: the token lives in this page only
    }
  }

  function newKey(prefix) {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return prefix + '-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function money(cents, currency) {
    return (cents / 100).toFixed(2) + ' ' + (currency || '');
  }

  function say(text, bad) {
    const m = $('admin-message');
    m.textContent = text;
    m.className = 'message ' + (bad ? 'bad' : 'ok');
  }

  // One call of the admin API; throws an Error with the server's message.
  // A 401 or 403 logs out: the token is wrong or no longer valid.
  async function call(method, path, body, headers) {
    const h = Object.assign({ Authorization: 'Bearer ' + token }, headers || {});
    if (body !== undefined) h['Content-Type'] = 'application/json';
    let r;
    try {
      r = await fetch(API + path, {
        method, headers: h, cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new Error('the shop cannot be reached');
    }
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (r.status === 401 || r.status === 403) {
      logout(data && data.message ? data.message : 'the token was refused');
      throw new Error('not logged in');
    }
    if (r.status >= 400) {
      throw new Error((data && data.message) || ('the shop answered ' + r.status));
    }
    return data;
  }

  // ---- stock and restock

  async function loadStock() {
    const data = await call('GET', '/stock');
    const rows = $('stock-rows');
    const seen = new Set();
    for (const p of data.products) {
      seen.add(p.sku);
      let tr = rows.querySelector('tr[data-sku="' + CSS.escape(p.sku) + '"]');
      if (!tr) {
        tr = fromTemplate('stock-row-template');
        tr.dataset.sku = p.sku;
        tr.querySelector('.restock-form').addEventListener('submit', (e) => {
          e.preventDefault();
          restock(tr);
        });
        tr.querySelector('.qty').setAttribute('aria-label', 'Quantity to add to ' + p.sku);
        rows.appendChild(tr);
      }
      tr.querySelector('.sku').textContent = p.sku;
      tr.querySelector('.name').textContent = p.name;
      tr.querySelector('.price').textContent = money(p.price_cents, p.currency);
      tr.querySelector('[data-test=available]').textContent = String(p.available);
      tr.querySelector('[data-test=reserved]').textContent = String(p.reserved);
      tr.querySelector('.restocked').textContent = String(p.restocked);
    }
    for (const tr of Array.from(rows.children)) {
      if (!seen.has(tr.dataset.sku)) tr.remove();
    }
    return data.products;
  }

  // Reloads the stock until check(products) holds (the inventory applies an
  // event a moment after the broker took it), a few seconds at most.
  async function reloadUntil(check) {
    for (let i = 0; i < 20; i++) {
      const products = await loadStock();
      if (check(products)) return true;
      await sleep(250);
    }
    return false;
  }

  async function restock(tr) {
    const sku = tr.dataset.sku;
    const input = tr.querySelector('[data-test=restock-qty]');
    const button = tr.querySelector('[data-test=restock]');
    const qty = Number(input.value);
    if (!Number.isInteger(qty) || qty < 1 || qty > 1000000) {
      say('A restock is a whole number from 1 to 1,000,000.', true);
      input.focus();
      return;
    }
    const before = Number(tr.querySelector('.restocked').textContent);
    // one key per click: a retry of this click restocks once, another click again
    const key = newKey('restock');
    button.disabled = true;
    try {
      let done = false;
      for (let attempt = 0; attempt < 3 && !done; attempt++) {
        try {
          await call('POST', '/products/' + encodeURIComponent(sku) + '/restock', { qty },
            { 'Idempotency-Key': key });
          done = true;
        } catch (e) {
          if (attempt === 2 || e.message === 'not logged in') throw e;
          await sleep(500);
        }
      }
      say('Restock of ' + qty + ' ' + sku + ' sent.');
      const shown = await reloadUntil((ps) => ps.some((p) => p.sku === sku && p.restocked >= before + qty));
      if (shown) say('Restocked ' + qty + ' ' + sku + '.');
    } catch (e) {
      if (e.message !== 'not logged in') say('Restock of ' + sku + ' failed: ' + e.message, true);
    } finally {
      button.disabled = false;
    }
  }

  // ---- products

  async function saveProduct(e) {
    e.preventDefault();
    const body = {
      sku: $('p-sku').value.trim(),
      name: $('p-name').value.trim(),
      price_cents: Number($('p-price').value),
    };
    const currency = $('p-currency').value.trim();
    if (currency) body.currency = currency;
    try {
      await call('POST', '/products', body);
      say('Saved ' + body.sku + '.');
      await reloadUntil((ps) => ps.some((p) => p.sku === body.sku && p.name === body.name &&
        p.price_cents === body.price_cents));
    } catch (err) {
      if (err.message !== 'not logged in') say('Saving ' + body.sku + ' failed: ' + err.message, true);
    }
  }

  // ---- orders

  function itemsText(items) {
    return (items || []).map((i) => i.qty + ' \u00d7 ' + i.sku).join(', ');
  }

  async function loadOrders() {
    const data = await call('GET', '/orders');
    const want = $('order-filter').value;
    const rows = $('order-rows');
    const list = data.orders.filter((o) => !want || o.status === want);
    list.sort((a, b) => String(b.created_at || '').localeCompare(String(a.created_at || '')));
    rows.replaceChildren();
    for (const o of list.slice(0, 200)) {
      const tr = fromTemplate('order-row-template');
      tr.dataset.orderId = o.order_id;
      tr.dataset.status = o.status;
      tr.querySelector('.id').textContent = o.order_id;
      tr.querySelector('.status').textContent = o.status;
      tr.querySelector('.items').textContent = itemsText(o.items);
      tr.querySelector('.total').textContent = typeof o.total_cents === 'number' ? money(o.total_cents, '') : '';
      tr.querySelector('.placed').textContent = o.created_at || '';
      const button = tr.querySelector('.redrive');
      if (o.status === 'pending') {
        button.hidden = false;
        button.addEventListener('click', () => redrive(o.order_id, button));
      }
      rows.appendChild(tr);
    }
    $('orders-empty').hidden = list.length > 0;
  }

  async function redrive(id, button) {
    button.disabled = true;
    try {
      await call('POST', '/orders/' + encodeURIComponent(id) + '/redrive');
      say('Order ' + id + ' re-driven.');
      await sleep(500);
      await loadOrders();
    } catch (e) {
      if (e.message !== 'not logged in') say('Re-drive of ' + id + ' failed: ' + e.message, true);
    } finally {
      button.disabled = false;
    }
  }

  // ---- dead letters

  async function loadDeadLetters() {
    const data = await call('GET', '/dead-letters');
    const box = $('dead-letters');
    box.replaceChildren();
    for (const daemon of ['inventory', 'order']) {
      const h = document.createElement('h3');
      const list = data[daemon] || [];
      h.textContent = daemon + ' (' + list.length + ')';
      box.appendChild(h);
      const ul = document.createElement('ul');
      ul.dataset.test = 'dead-letters-' + daemon;
      for (const d of list.slice(0, 50)) {
        const li = document.createElement('li');
        li.className = 'dead';
        li.dataset.test = 'dead-letter';
        const what = document.createElement('div');
        what.textContent = new Date(d.at_ms).toISOString() + ' ' + d.topic + ': ' + d.reason;
        const pre = document.createElement('pre');
        pre.textContent = d.payload !== undefined ? d.payload : '(bytes, base16) ' + d.payload_base16;
        li.append(what, pre);
        ul.appendChild(li);
      }
      box.appendChild(ul);
    }
  }

  // ---- log in and out

  function logout(why) {
    keepToken(null);
    $('admin').hidden = true;
    $('logout').hidden = true;
    $('login-panel').hidden = false;
    $('login-error').textContent = why || '';
  }

  async function showAdmin() {
    $('login-panel').hidden = true;
    $('admin').hidden = false;
    $('logout').hidden = false;
    try {
      await loadStock();
      await Promise.all([loadOrders(), loadDeadLetters()]);
    } catch (e) {
      if (e.message !== 'not logged in') say(e.message, true);
    }
  }

  async function login(e) {
    e.preventDefault();
    const t = $('token').value.trim();
    if (!t) {
      $('login-error').textContent = 'Type the admin token.';
      return;
    }
    $('login-error').textContent = '';
    keepToken(t);
    try {
      await loadStock(); // the token is checked by the first call
    } catch (err) {
      if (err.message !== 'not logged in') $('login-error').textContent = err.message;
      return;
    }
    $('token').value = '';
    await showAdmin();
  }

  function refresh() {
    Promise.all([loadStock(), loadOrders(), loadDeadLetters()]).catch((e) => {
      if (e.message !== 'not logged in') say(e.message, true);
    });
  }

  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', () => logout(''));
  $('product-form').addEventListener('submit', saveProduct);
  $('order-filter').addEventListener('change', () => loadOrders().catch(() => {}));
  $('refresh').addEventListener('click', refresh);
  if (token) showAdmin();
})();
