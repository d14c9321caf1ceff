// Tessera's web interface: the torrent list from the server-sent event stream of /api/events,
// changes through the JSON API. Every text that came from a torrent or a peer is set with
// textContent, never parsed as HTML.
const $ = (sel) => document.querySelector(sel);
const rows = new Map();
let detailHash = null;

function human(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}
const rate = (n) => (n > 0 ? `${human(n)}/s` : '–');

function say(text, isError = false) {
  const m = $('#message');
  m.textContent = text;
  m.className = isError ? 'error' : '';
}

async function api(method, path, body) {
  const res = await fetch(`/api${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error || `HTTP ${res.status}`);
  return json;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}

function stateText(t) {
  if (t.error) return `error: ${t.error}`;
  if (t.state === 'metadata') return `fetching metadata ${(t.metadataProgress * 100).toFixed(0)} %`;
  return t.state;
}

function makeRow(t) {
  const tr = el('tr');
  tr.dataset.hash = t.infoHash;
  const link = el('a', { href: '#', className: 'open' });
  link.addEventListener('click', (ev) => { ev.preventDefault(); openDetail(t.infoHash); });
  const bar = el('div', { className: 'bar progress' }, el('span'), el('em'));
  const toggle = el('button', { type: 'button', className: 'toggle' });
  toggle.addEventListener('click', () => act(tr.dataset.hash, tr.dataset.paused === '1' ? 'resume' : 'pause'));
  const remove = el('button', { type: 'button', className: 'remove', textContent: 'Remove' });
  remove.addEventListener('click', () => removeTorrent(tr.dataset.hash, false));
  const purge = el('button', { type: 'button', className: 'remove-data', textContent: 'Remove + data' });
  purge.addEventListener('click', () => removeTorrent(tr.dataset.hash, true));
  tr.append(
    el('td', { className: 'name' }, link),
    el('td', {}, bar),
    el('td', { className: 'num down' }),
    el('td', { className: 'num up' }),
    el('td', { className: 'num peers' }),
    el('td', { className: 'state' }),
    el('td', { className: 'actions' }, toggle, ' ', remove, ' ', purge),
  );
  return tr;
}

function updateRow(tr, t) {
  tr.dataset.paused = t.paused ? '1' : '0';
  tr.dataset.state = t.state;
  tr.querySelector('a.open').textContent = t.name;
  const pct = `${(t.progress * 100).toFixed(1)} %`;
  tr.querySelector('.bar > span').style.width = `${(t.progress * 100).toFixed(1)}%`;
  tr.querySelector('.bar > em').textContent = pct;
  tr.querySelector('.down').textContent = rate(t.downRate);
  tr.querySelector('.up').textContent = rate(t.upRate);
  tr.querySelector('.peers').textContent = String(t.peers);
  tr.querySelector('.state').textContent = stateText(t);
  tr.querySelector('.toggle').textContent = t.paused ? 'Resume' : 'Pause';
}

function render(list) {
  const body = $('#torrents tbody');
  const seen = new Set();
  let down = 0;
  let up = 0;
  for (const t of list) {
    seen.add(t.infoHash);
    down += t.downRate;
    up += t.upRate;
    let tr = rows.get(t.infoHash);
    if (!tr) {
      tr = makeRow(t);
      rows.set(t.infoHash, tr);
      body.append(tr);
    }
    updateRow(tr, t);
  }
  for (const [hash, tr] of rows) {
    if (!seen.has(hash)) { tr.remove(); rows.delete(hash); }
  }
  $('#empty').hidden = list.length > 0;
  $('#totals').textContent = `${list.length} torrents · ↓ ${rate(down)} · ↑ ${rate(up)}`;
  if (detailHash !== null) refreshDetail();
}

async function act(hash, action) {
  try {
    await api('POST', `/torrents/${hash}/${action}`, {});
  } catch (err) {
    say(err.message, true);
  }
}

async function removeTorrent(hash, withData) {
  const tr = rows.get(hash);
  const name = tr ? tr.querySelector('a.open').textContent : hash;
  if (!confirm(withData ? `Remove "${name}" and delete its files?` : `Remove "${name}"? Its files stay.`)) return;
  try {
    await api('DELETE', `/torrents/${hash}${withData ? '?deleteData=1' : ''}`, {});
    say(`Removed ${name}`);
  } catch (err) {
    say(err.message, true);
  }
}

async function add(body) {
  body.paused = $('#add-paused').checked;
  const r = await api('POST', '/torrents', body);
  say(r.duplicate ? `Already there: ${r.torrent.name}` : `Added ${r.torrent.name}`);
}

$('#add-magnet').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const link = $('#magnet').value.trim();
  if (!link) return;
  try {
    await add({ magnet: link });
    $('#magnet').value = '';
  } catch (err) {
    say(err.message, true);
  }
});

function toBase64(buf) {
  const bytes = new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

$('#torrent-file').addEventListener('change', async (ev) => {
  for (const file of ev.target.files) {
    try {
      await add({ metainfo: toBase64(await file.arrayBuffer()) });
    } catch (err) {
      say(`${file.name}: ${err.message}`, true);
    }
  }
  ev.target.value = '';
});

async function openDetail(hash) {
  detailHash = hash;
  $('#detail').hidden = false;
  await refreshDetail();
}

let refreshing = false;
async function refreshDetail() {
  if (refreshing || detailHash === null) return;
  refreshing = true;
  try {
    const d = await api('GET', `/torrents/${detailHash}`);
    $('#detail-name').textContent = d.name;
    const files = $('#files tbody');
    files.replaceChildren(...d.files.map((f) => {
      const box = el('input', { type: 'checkbox', checked: f.wanted });
      box.addEventListener('change', () => api('POST', `/torrents/${d.infoHash}/files`, box.checked ? { wanted: [f.index] } : { unwanted: [f.index] }).catch((err) => say(err.message, true)));
      const pct = f.length > 0 ? (f.bytesCompleted / f.length) * 100 : 100;
      return el('tr', {}, el('td', {}, box), el('td', { textContent: f.path }), el('td', { className: 'num', textContent: human(f.length) }), el('td', { textContent: `${pct.toFixed(1)} %` }));
    }));
    $('#peers').replaceChildren(...(d.peers.length ? d.peers.map((p) => el('li', { textContent: `${p.host}:${p.port}${p.incoming ? ' (incoming)' : ''}` })) : [el('li', { textContent: 'none connected' })]));
    $('#trackers').replaceChildren(...(d.trackers.length ? d.trackers.map((t) => el('li', { textContent: `${t.announce}${t.message ? ` — ${t.message}` : ''}` })) : [el('li', { textContent: 'none' })]));
  } catch (err) {
    say(err.message, true);
    detailHash = null;
    $('#detail').hidden = true;
  } finally {
    refreshing = false;
  }
}

$('#detail-close').addEventListener('click', () => { detailHash = null; $('#detail').hidden = true; });

const events = new EventSource('/api/events');
events.addEventListener('torrents', (ev) => {
  $('#conn').textContent = 'live';
  render(JSON.parse(ev.data));
});
events.addEventListener('error', () => { $('#conn').textContent = 'reconnecting…'; });
