// The shop page: the catalog, a cart kept in this browser, checkout as one
// POST with an Idempotency-Key per cart, the order's status live (a stream of
// status events where the front has one, else polling), cancel, and the
// orders this browser placed. The API is docs/protocol.md §HTTP API.
'use strict';

(function () {
  const API = '/api/v1';
  const KEYS = { cart: 'shop.cart.v1', orders: 'shop.orders.v1', current: 'shop.current.v1' };
  const FINAL = ['confirmed', 'rejected', 'canceled'];
  const MAX_ORDERS = 50;         // orders this browser remembers
  const MAX_QTY = 10000;         // the front's limit per line
  const POST_TRIES = 3;          // a lost answer is retried with the same key
  const UNKNOWN_GRACE_MS = 30000; // a 404 this soon after the 202 means "not recorded yet"

  const $ = (id) => document.getElementById(id);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  // A fresh copy of the element a <template> of index.html holds.
  const fromTemplate = (id) => $(id).content.firstElementChild.cloneNode(true);

  // ---- storage: the page works without it (private mode), it just forgets

  function load(key, fallback) {
    try {
      const value = JSON.parse(localStorage.getItem(key));
      return value === null ? fallback : value;
    } catch (e) {
      return fallback;
    }
  }

  function save(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      // full or forbidden: nothing to do, the page keeps its state in memory
    }
  }

  // A key for one cart: the front derives the order id from it, so every
  // try of the same cart is the same order (docs/protocol.md §Crash safety).
  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return 'cart-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function loadCart() {
    const cart = load(KEYS.cart, null);
    if (!cart || !Array.isArray(cart.lines)) return { key: null, lines: [] };
    cart.lines = cart.lines.filter((l) => l && typeof l.sku === 'string' &&
      Number.isInteger(l.qty) && l.qty > 0);
    return cart;
  }

  function saveCart(cart) {
    if (cart.lines.length === 0 && !cart.tried) cart.key = null;
    save(KEYS.cart, cart);
  }

  function loadOrders() {
    const orders = load(KEYS.orders, []);
    return Array.isArray(orders) ? orders.filter((o) => o && typeof o.id === 'string') : [];
  }

  // ---- state

  const state = {
    products: new Map(), // sku -> product of the catalog
    catalogOrder: [],    // skus in the catalog's order
    busy: false,         // a checkout is in flight
    watcher: null,       // the current order's status watcher
    streams: 'EventSource' in window, // false once a stream failed before its first event
  };

  // ---- formatting

  function money(cents, currency) {
    if (!Number.isFinite(cents)) return '';
    const sign = cents < 0 ? '-' : '';
    const abs = Math.abs(Math.round(cents));
    return sign + Math.floor(abs / 100) + '.' + String(abs % 100).padStart(2, '0') +
      (currency ? ' ' + currency : '');
  }

  // "12.00 EUR", or "12.00 EUR + 3.50 USD" for a cart of several currencies.
  function moneyByCurrency(lines) {
    const sums = new Map();
    for (const l of lines) {
      if (!Number.isFinite(l.price_cents)) continue;
      sums.set(l.currency || '', (sums.get(l.currency || '') || 0) + l.price_cents * l.qty);
    }
    return Array.from(sums, ([currency, cents]) => money(cents, currency)).join(' + ');
  }

  function productName(sku) {
    const p = state.products.get(sku);
    return p ? p.name : sku;
  }

  function reasonText(order) {
    const sku = order.sku;
    const item = (order.items || []).find((i) => i.sku === sku);
    switch (order.reason) {
      case 'insufficient_stock': {
        if (!sku) return 'There was not enough stock for this order. Nothing was reserved.';
        const p = state.products.get(sku);
        let now = '';
        if (p && p.available <= 0) now = ' It is sold out now.';
        else if (p && item && p.available < item.qty) now = ' Only ' + p.available + ' left now.';
        return 'Not enough ' + productName(sku) + ' (' + sku + ') in stock' +
          (item ? ' for ' + item.qty : '') + '.' + now + ' Nothing was reserved.';
      }
      case 'unknown_sku':
        return (sku ? 'The shop does not sell ' + sku : 'The shop does not sell one of these products') +
          ' (any more). Nothing was reserved.';
      case 'invalid':
        return 'The shop could not read this order. Nothing was reserved.';
      default:
        return 'The shop turned this order down' + (order.reason ? ' (' + order.reason + ')' : '') + '.';
    }
  }

  function when(ms) {
    const d = new Date(ms);
    const sameDay = d.toDateString() === new Date().toDateString();
    return sameDay
      ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      : d.toLocaleDateString([], { day: 'numeric', month: 'short' });
  }

  function setMessage(id, text, kind) {
    const el = $(id);
    el.textContent = text || '';
    el.classList.toggle('error', kind === 'error');
  }

  // ---- the catalog

  async function fetchCatalog() {
    try {
      const r = await fetch(API + '/catalog', { cache: 'no-store' });
      const body = await r.json().catch(() => null);
      if (!r.ok || !body || !Array.isArray(body.products)) throw new Error('HTTP ' + r.status);
      state.products = new Map(body.products.map((p) => [p.sku, p]));
      state.catalogOrder = body.products.map((p) => p.sku);
      setMessage('catalog-message', '');
      renderProducts();
      renderCart();
      renderOrder();
      return true;
    } catch (e) {
      setMessage('catalog-message', 'The products cannot be shown right now (' + e.message +
        '). Trying again…', 'error');
      setTimeout(fetchCatalog, 3000);
      return false;
    }
  }

  function renderProducts() {
    const list = $('products');
    const cart = loadCart();
    const existing = new Map(Array.from(list.children, (li) => [li.dataset.sku, li]));
    state.catalogOrder.forEach((sku, index) => {
      const p = state.products.get(sku);
      let li = existing.get(sku);
      if (!li) {
        li = fromTemplate('product-template');
        li.dataset.sku = sku;
        const nameId = 'product-' + index + '-name';
        li.querySelector('[data-test=name]').id = nameId;
        const add = li.querySelector('[data-test=add]');
        add.setAttribute('aria-describedby', nameId);
        add.addEventListener('click', () => addToCart(sku));
      }
      existing.delete(sku);
      list.appendChild(li); // keeps the catalog's order
      const inCart = (cart.lines.find((l) => l.sku === sku) || { qty: 0 }).qty;
      li.querySelector('[data-test=name]').textContent = p.name;
      li.querySelector('.sku').textContent = sku;
      li.querySelector('[data-test=price]').textContent = money(p.price_cents, p.currency);
      li.querySelector('[data-test=available]').textContent = String(p.available);
      const word = li.querySelector('.stock-word');
      word.textContent = 'in stock';
      li.classList.toggle('sold-out', p.available <= 0);
      const add = li.querySelector('[data-test=add]');
      add.disabled = state.busy || inCart >= Math.min(p.available, MAX_QTY);
      if (p.available <= 0) add.textContent = 'Sold out';
      else if (inCart >= p.available) add.textContent = 'All in your cart';
      else add.textContent = 'Add to cart';
    });
    for (const li of existing.values()) li.remove();
  }

  // ---- the cart

  function addToCart(sku) {
    const cart = loadCart();
    if (!cart.key) cart.key = newKey();
    const line = cart.lines.find((l) => l.sku === sku);
    if (line) line.qty = Math.min(line.qty + 1, MAX_QTY);
    else cart.lines.push({ sku, qty: 1 });
    saveCart(cart);
    setMessage('checkout-message', '');
    renderCart();
    renderProducts();
  }

  function changeQty(sku, delta) {
    const cart = loadCart();
    const line = cart.lines.find((l) => l.sku === sku);
    if (!line) return;
    line.qty = Math.max(0, Math.min(line.qty + delta, MAX_QTY));
    cart.lines = cart.lines.filter((l) => l.qty > 0);
    saveCart(cart);
    renderCart();
    renderProducts();
  }

  function cartLines(cart) {
    return cart.lines.map((l) => {
      const p = state.products.get(l.sku);
      return {
        sku: l.sku, qty: l.qty, name: p ? p.name : l.sku,
        price_cents: p ? p.price_cents : NaN, currency: p ? p.currency : '',
        available: p ? p.available : NaN,
      };
    });
  }

  function renderCart() {
    const cart = loadCart();
    const lines = cartLines(cart);
    const list = $('cart-lines');
    list.replaceChildren();
    for (const l of lines) {
      const li = fromTemplate('cart-line-template');
      li.dataset.sku = l.sku;
      li.querySelector('.line-name').textContent = l.name;
      li.querySelector('.line-qty').textContent = String(l.qty);
      li.querySelector('.line-sum').textContent = money(l.price_cents * l.qty, l.currency);
      const less = li.querySelector('.less');
      const more = li.querySelector('.more');
      const remove = li.querySelector('.remove');
      less.setAttribute('aria-label', 'One ' + l.name + ' less');
      more.setAttribute('aria-label', 'One ' + l.name + ' more');
      remove.setAttribute('aria-label', 'Remove ' + l.name + ' from the cart');
      less.disabled = state.busy || l.qty <= 1;
      more.disabled = state.busy || l.qty >= MAX_QTY || (Number.isFinite(l.available) && l.qty >= l.available);
      remove.disabled = state.busy;
      less.addEventListener('click', () => changeQty(l.sku, -1));
      more.addEventListener('click', () => changeQty(l.sku, +1));
      remove.addEventListener('click', () => changeQty(l.sku, -l.qty));
      if (Number.isFinite(l.available) && l.qty > l.available) {
        const warn = document.createElement('span');
        warn.className = 'line-warning';
        warn.textContent = l.available > 0 ? 'only ' + l.available + ' in stock' : 'sold out';
        li.appendChild(warn);
      }
      list.appendChild(li);
    }
    $('cart-empty').hidden = lines.length > 0;
    $('cart-total-row').hidden = lines.length === 0;
    $('cart-total').textContent = moneyByCurrency(lines);
    $('cart-count').textContent = String(lines.reduce((n, l) => n + l.qty, 0));
    const checkout = $('checkout');
    checkout.disabled = state.busy || lines.length === 0;
    checkout.textContent = state.busy ? 'Placing your order…' : 'Place order';
    $('checkout').closest('section').setAttribute('aria-busy', state.busy ? 'true' : 'false');
  }

  // ---- checkout: one POST per cart, retried with the same key

  function setBusy(busy) {
    state.busy = busy;
    renderCart();
    renderProducts();
  }

  async function checkout() {
    if (state.busy) return; // a second click while the first is in flight
    const cart = loadCart();
    if (cart.lines.length === 0) return;
    if (!cart.key) cart.key = newKey();
    cart.tried = true; // the key now names an order the shop may have
    saveCart(cart);
    const lines = cartLines(cart);
    const items = cart.lines.map((l) => ({ sku: l.sku, qty: l.qty }));
    setBusy(true);
    setMessage('checkout-message', '');
    let trouble = 'The shop cannot be reached.';
    for (let attempt = 1; attempt <= POST_TRIES; attempt++) {
      let r = null;
      let body = null;
      try {
        r = await fetch(API + '/orders', {
          method: 'POST',
          cache: 'no-store',
          headers: { 'Content-Type': 'application/json', 'Idempotency-Key': cart.key },
          body: JSON.stringify({ items }),
        });
        body = await r.json().catch(() => null);
      } catch (e) {
        r = null; // no answer: the order may or may not have arrived; the key makes a retry safe
      }
      if (r && r.status === 202 && body && typeof body.order_id === 'string') {
        placed(body.order_id, lines);
        return;
      }
      if (r && r.status === 422 && body && body.error === 'idempotency_key_reused') {
        keyReused(body, cart);
        return;
      }
      if (r && r.status < 500) { // refused for good: saying it again will not help
        setBusy(false);
        setMessage('checkout-message', (body && body.message) ||
          'The shop refused the order (HTTP ' + r.status + ').', 'error');
        $('checkout').focus();
        return;
      }
      if (r) trouble = (body && body.message) || 'The shop answered HTTP ' + r.status + '.';
      if (attempt < POST_TRIES) {
        const retryAfter = r ? Number(r.headers.get('Retry-After')) : 0;
        await sleep(Math.min(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 500 * attempt, 5000));
      }
    }
    setBusy(false);
    setMessage('checkout-message', trouble + ' Press "Place order" again: this cart is ordered at most once.', 'error');
    $('checkout').focus();
  }

  function placed(orderId, lines) {
    const orders = loadOrders().filter((o) => o.id !== orderId);
    orders.unshift({
      id: orderId, at: Date.now(), status: 'pending',
      items: lines.map((l) => ({ sku: l.sku, qty: l.qty, name: l.name })),
      currency: (lines[0] && lines[0].currency) || '',
    });
    save(KEYS.orders, orders.slice(0, MAX_ORDERS));
    save(KEYS.cart, { key: null, lines: [] }); // a new cart gets a new key
    setBusy(false);
    showOrder(orderId, true);
  }

  // The cart was changed after a try whose answer never came, and that try
  // did reach the shop: it stands as its own order. Keep it in the list and
  // let this cart be a new order.
  function keyReused(body, cart) {
    const id = ((body.message || '').match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/) || [])[0];
    if (id && !loadOrders().some((o) => o.id === id)) {
      const orders = loadOrders();
      orders.unshift({ id, at: Date.now(), status: 'pending', items: [], currency: '' });
      save(KEYS.orders, orders.slice(0, MAX_ORDERS));
      refreshOnce(id);
    }
    cart.key = newKey();
    cart.tried = false;
    saveCart(cart);
    setBusy(false);
    renderOrders();
    setMessage('checkout-message', 'An earlier try of this cart already reached the shop with other items' +
      (id ? ' (order ' + id.slice(0, 8) + ', listed below)' : '') +
      '. Press "Place order" to order this cart as well.', 'error');
    $('checkout').focus();
  }

  // ---- orders: the list, the current one, and watching its status

  function updateStored(order) {
    const orders = loadOrders();
    const o = orders.find((x) => x.id === order.order_id);
    if (!o) return null;
    o.status = order.status;
    if (Number.isFinite(order.total_cents)) o.total_cents = order.total_cents;
    o.reason = order.reason;
    o.sku = order.sku;
    if (Array.isArray(order.items) && order.items.length > 0) {
      o.items = order.items.map((i) => ({
        sku: i.sku, qty: i.qty, unit_price_cents: i.unit_price_cents,
        name: (o.items.find((x) => x.sku === i.sku) || {}).name || productName(i.sku),
      }));
    }
    if (!o.currency && o.items.length > 0) {
      const p = state.products.get(o.items[0].sku);
      if (p) o.currency = p.currency;
    }
    if (o.status === 'canceled') o.cancel_requested = false;
    save(KEYS.orders, orders);
    return o;
  }

  function storedOrder(id) {
    return loadOrders().find((o) => o.id === id) || null;
  }

  // Watching ends at a final status, except that a canceled order waits for
  // "canceled", which wins over all (docs/protocol.md §Order state).
  function settled(o) {
    return o.status === 'canceled' || (FINAL.includes(o.status) && !o.cancel_requested);
  }

  function stopWatching() {
    const w = state.watcher;
    if (!w) return;
    w.stopped = true;
    if (w.stream) w.stream.close();
    clearTimeout(w.timer);
    state.watcher = null;
  }

  function watch(id) {
    stopWatching();
    const w = { id, stopped: false, stream: null, timer: 0, delay: 200, started: Date.now() };
    state.watcher = w;
    if (!state.streams) {
      poll(w);
      return;
    }
    // GET .../events: the current status at once, then each change. A front
    // without it (404), one over its stream limit (503) or a stream that fails
    // before its first event: poll instead, for the rest of this page's life.
    let heard = false;
    const stream = new EventSource(API + '/orders/' + encodeURIComponent(id) + '/events');
    w.stream = stream;
    const onStatus = (event) => {
      let order = null;
      try { order = JSON.parse(event.data); } catch (e) { return; }
      heard = true;
      seen(w, order, 'stream');
    };
    stream.addEventListener('status', onStatus);
    stream.onmessage = onStatus;
    stream.onerror = () => {
      if (w.stopped) return;
      if (!heard) state.streams = false;
      if (!heard || stream.readyState === EventSource.CLOSED) {
        stream.close();
        w.stream = null;
        poll(w);
      } // else the browser reconnects by itself and hears the current status again
    };
  }

  async function poll(w) {
    if (w.stopped) return;
    let r = null;
    let order = null;
    try {
      r = await fetch(API + '/orders/' + encodeURIComponent(w.id), { cache: 'no-store' });
      order = r.ok ? await r.json() : null;
    } catch (e) {
      r = null;
    }
    if (w.stopped) return;
    if (order) {
      if (w.id === currentId()) setMessage('order-note', noteFor(storedOrder(w.id)));
      seen(w, order, 'poll');
      if (w.stopped) return;
    } else if (r && (r.status === 404 || r.status === 400) &&
               Date.now() - w.started > UNKNOWN_GRACE_MS) {
      setMessage('order-note', 'The shop does not know this order (any more).');
      stopWatching();
      return;
    } else if (!r || r.status >= 500) {
      setMessage('order-note', 'The shop cannot be reached right now; still trying…');
    }
    w.delay = Math.min(w.delay * 1.5, 3000);
    w.timer = setTimeout(() => poll(w), w.delay);
  }

  // source: 'stream' (pushed) or 'poll'; the status element says which
  // brought the status it shows (data-source), for the curious and the tests.
  function seen(w, order, source) {
    if (w.stopped || !order || order.order_id !== w.id) return;
    const before = (storedOrder(w.id) || {}).status;
    const o = updateStored(order);
    if (!o) return;
    $('order-status').dataset.source = source;
    renderOrder();
    renderOrders();
    if (before !== o.status && o.status !== 'pending') fetchCatalog(); // stock moved
    if (settled(o)) stopWatching();
  }

  // One look at an order that is not the current one (at load, in the list).
  async function refreshOnce(id) {
    try {
      const r = await fetch(API + '/orders/' + encodeURIComponent(id), { cache: 'no-store' });
      if (!r.ok) return;
      const order = await r.json();
      if (order && order.order_id === id) updateStored(order);
      renderOrders();
    } catch (e) {
      // the list shows what it knew
    }
  }

  function currentId() {
    return load(KEYS.current, null);
  }

  function showOrder(id, focus) {
    save(KEYS.current, id);
    delete $('order-status').dataset.source; // nothing heard of this order yet
    renderOrder();
    renderOrders();
    const o = storedOrder(id);
    if (o && !settled(o)) watch(id);
    else stopWatching();
    if (focus) $('order-heading').focus();
  }

  function noteFor(o) {
    if (!o) return '';
    if (o.cancel_requested && o.status !== 'canceled') return 'Cancel requested; waiting for the shop…';
    if (o.status === 'pending') return 'The shop is checking the stock…';
    if (o.status === 'canceled') return 'Canceled. Any stock it held is back in the shop.';
    return '';
  }

  function renderOrder() {
    const id = currentId();
    const o = id ? storedOrder(id) : null;
    const panel = $('order');
    if (!o) {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    $('order-id').textContent = o.id;
    const status = $('order-status');
    status.dataset.orderId = o.id;
    if (status.textContent !== o.status) status.textContent = o.status;
    status.className = 'status status-' + o.status;
    const confirmed = o.status === 'confirmed' && Number.isFinite(o.total_cents);
    $('order-total-row').hidden = !confirmed;
    $('order-total').textContent = confirmed ? money(o.total_cents, o.currency) : '';
    const reason = $('order-reason');
    reason.hidden = o.status !== 'rejected';
    reason.textContent = o.status === 'rejected' ? reasonText(o) : '';
    const items = $('order-items');
    items.replaceChildren();
    for (const i of o.items || []) {
      const li = document.createElement('li');
      const each = Number.isFinite(i.unit_price_cents) ? ', ' + money(i.unit_price_cents, o.currency) + ' each' : '';
      li.textContent = i.qty + ' × ' + (i.name || productName(i.sku)) + each;
      items.appendChild(li);
    }
    const cancel = $('cancel');
    cancel.hidden = !(o.status === 'pending' || o.status === 'confirmed');
    cancel.disabled = Boolean(o.cancel_requested);
    const note = $('order-note');
    if (!note.classList.contains('error')) note.textContent = noteFor(o);
  }

  function renderOrders() {
    const orders = loadOrders();
    const current = currentId();
    const list = $('orders');
    list.replaceChildren();
    for (const o of orders) {
      const li = fromTemplate('order-line-template');
      li.dataset.orderId = o.id;
      li.querySelector('.placed-when').textContent = when(o.at);
      li.querySelector('.placed-id').textContent = o.id.slice(0, 8);
      const status = li.querySelector('.placed-status');
      status.textContent = o.status;
      status.classList.add('status-' + o.status);
      li.dataset.status = o.status;
      li.querySelector('.placed-total').textContent =
        o.status === 'confirmed' && Number.isFinite(o.total_cents) ? money(o.total_cents, o.currency) : '';
      const show = li.querySelector('.show');
      show.setAttribute('aria-label', 'Show order ' + o.id.slice(0, 8));
      if (o.id === current) {
        li.setAttribute('aria-current', 'true');
        show.hidden = true;
      }
      show.addEventListener('click', () => showOrder(o.id, true));
      list.appendChild(li);
    }
    $('orders-empty').hidden = orders.length > 0;
  }

  // ---- cancel

  async function cancelOrder() {
    const id = currentId();
    const orders = loadOrders();
    const o = orders.find((x) => x.id === id);
    if (!o || o.cancel_requested) return;
    o.cancel_requested = true;
    save(KEYS.orders, orders);
    setMessage('order-note', '');
    renderOrder();
    // A 404 right after the order's 202: the order service has not recorded it yet.
    const until = Date.now() + 5000;
    for (;;) {
      let r = null;
      let body = null;
      try {
        r = await fetch(API + '/orders/' + encodeURIComponent(id) + '/cancel', { method: 'POST', cache: 'no-store' });
        body = await r.json().catch(() => null);
      } catch (e) {
        r = null;
      }
      if (r && r.status === 202) {
        setMessage('order-note', noteFor(storedOrder(id)));
        if (id === currentId()) watch(id);
        return;
      }
      if ((!r || r.status === 404 || r.status === 503) && Date.now() < until) {
        await sleep(500);
        continue;
      }
      const again = loadOrders();
      const x = again.find((y) => y.id === id);
      if (x) x.cancel_requested = false;
      save(KEYS.orders, again);
      renderOrder();
      setMessage('order-note', ((body && body.message) || 'The cancel did not reach the shop.') +
        ' Press "Cancel this order" to try again.', 'error');
      $('cancel').focus();
      return;
    }
  }

  // ---- start

  function start() {
    $('checkout').addEventListener('click', checkout);
    $('cancel').addEventListener('click', cancelOrder);
    // another tab changed the cart or placed an order
    window.addEventListener('storage', () => {
      renderCart();
      renderProducts();
      renderOrders();
      renderOrder();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') fetchCatalog();
    });
    renderCart();
    renderOrders();
    renderOrder();
    fetchCatalog();
    const current = currentId();
    for (const o of loadOrders().slice(0, 20)) {
      if (o.id === current) continue;
      if (!settled(o)) refreshOnce(o.id);
    }
    if (current && storedOrder(current)) showOrder(current, false);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
}());
