// The page of `blindpost gui`: it shows what the client in the blindpost process reports and
// sends it the user's commands, in the driver protocol (spec Appendix A, A.5). It holds no key
// and does no cryptography.

import { Driver, CommandError } from './proto.js';
import { $, el, show, setText, shortFP, groupDigits } from './dom.js';
import { securityWords, deliveryWords, strength } from './words.js';

const MAX_TEXT = 4096; // code points, as schemas/e2e/content.json counts them
const BROADCAST = 'broadcast';

const S = {
  drv: null,
  me: { user: '', fp: '', server: '' },
  convs: new Map(), // key "g:NAME" or "p:NAME" → conversation
  current: 'g:' + BROADCAST,
  requests: new Map(), // session → {from, session}
  online: new Set(),
  pendingPin: '',
  countdown: null,
  deliveries: new Map(), // "session n" → state that arrived before the send response
};

function conv(key) {
  let c = S.convs.get(key);
  if (!c) {
    const [kind, name] = [key.slice(0, 1) === 'g' ? 'group' : 'peer', key.slice(2)];
    c = { key, kind, name, session: '', state: 'none', reason: '', fp: '', verified: false,
      keyChanged: false, members: [], missing: [], epoch: 0, joined: false, items: [], unread: 0, request: '' };
    S.convs.set(key, c);
  }
  return c;
}
const peerConv = (name) => conv('p:' + name);
const groupConv = (name) => conv('g:' + name);
function convBySession(session) {
  for (const c of S.convs.values()) if (c.session === session) return c;
  return null;
}

// ---- start -------------------------------------------------------------------------------

function start() {
  S.drv = new Driver(`ws://${location.host}/ws`, onEvent, onClose);
  wire();
  S.drv.call('status').then(route, (e) => banner('Cannot talk to blindpost: ' + e.message));
}

function onClose() {
  stopCountdown();
  banner('The page lost its connection to blindpost (it stopped, or another tab took over). Restart blindpost gui to continue.', true);
}

// route shows the screen of a status result (spec A.5).
function route(st) {
  S.me.user = st.user || S.me.user;
  S.me.server = st.server || S.me.server;
  show($('welcome'), st.state !== 'ready');
  show($('create'), st.state === 'no_identity');
  show($('unlock'), st.state === 'locked');
  show($('trust'), st.state === 'untrusted');
  show($('app'), st.state === 'ready');
  if (st.state === 'no_identity') {
    if (st.user) $('create-user').value = st.user;
    if (st.server) $('create-server').value = st.server;
    $('create-user').focus();
  } else if (st.state === 'locked') {
    setText('unlock-user', st.user);
    if (st.server) $('unlock-server').value = st.server;
    $('unlock-pass').focus();
  } else if (st.state === 'untrusted') {
    S.pendingPin = st.pin;
    setText('trust-server', st.server);
    setText('trust-pin', st.pin);
    $('trust-yes').focus();
  } else if (st.state === 'ready') {
    S.me.fp = st.fingerprint;
    enterChat();
  }
}

function normaliseServer(s) {
  s = s.trim();
  if (!s) return s;
  if (!/^wss:\/\//.test(s)) s = 'wss://' + s.replace(/^[a-z]+:\/\//, '');
  if (!/^wss:\/\/[^/]+\//.test(s)) s += '/';
  return s;
}

// nextStep turns a failure of create_identity, unlock or trust_server into words.
function nextStep(e) {
  switch (e.code) {
    case 'bad_passphrase': return 'That passphrase does not open this identity. Try again.';
    case 'unreachable': return e.message;
    case 'identity_mismatch': return e.message;
    case 'identity_exists': return e.message;
    case 'pin_mismatch': return e.message;
    case 'closed': return e.message;
    default: return e.message || e.code;
  }
}

function wire() {
  $('create-pass').addEventListener('input', () => {
    const s = strength($('create-pass').value);
    const p = $('strength');
    p.textContent = s.text;
    p.dataset.level = String(s.level);
  });
  $('create-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const user = $('create-user').value.trim();
    const pass = $('create-pass').value;
    const server = normaliseServer($('create-server').value);
    const err = $('create-error');
    if (!/^[a-z0-9][a-z0-9_.-]{0,31}$/.test(user)) { err.textContent = 'The username takes lower-case letters, digits and _ . - (up to 32), starting with a letter or digit.'; $('create-user').focus(); return; }
    if (!pass) { err.textContent = 'Choose a passphrase.'; $('create-pass').focus(); return; }
    if (pass !== $('create-pass2').value) { err.textContent = 'The two passphrases differ.'; $('create-pass2').focus(); return; }
    if (!server) { err.textContent = 'Give the relay\u2019s address, such as wss://chat.example.org:8443/.'; $('create-server').focus(); return; }
    err.textContent = 'Creating your key and connecting…';
    try {
      const st = await S.drv.call('create_identity', { user, passphrase: pass, server });
      $('create-pass').value = $('create-pass2').value = '';
      err.textContent = '';
      route(st);
    } catch (e) { err.textContent = nextStep(e); }
  });
  $('unlock-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = $('unlock-error');
    const args = { passphrase: $('unlock-pass').value };
    const server = normaliseServer($('unlock-server').value);
    if (server) args.server = server;
    if (!args.passphrase) { err.textContent = 'Enter your passphrase.'; return; }
    err.textContent = 'Unlocking…';
    try {
      const st = await S.drv.call('unlock', args);
      $('unlock-pass').value = '';
      err.textContent = '';
      route(st);
    } catch (e) { err.textContent = nextStep(e); $('unlock-pass').select(); }
  });
  $('trust-yes').addEventListener('click', async () => {
    try { route(await S.drv.call('trust_server', { pin: S.pendingPin })); } catch (e) { setText('trust-error', nextStep(e)); }
  });
  $('trust-no').addEventListener('click', () => {
    route({ state: 'locked', user: S.me.user, server: S.me.server });
    setText('unlock-error', 'The relay was not trusted and nothing was stored. Check its address, or ask its operator for the pin.');
  });

  $('composer').addEventListener('submit', (ev) => { ev.preventDefault(); send(); });
  $('text').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); send(); }
  });
  $('text').addEventListener('input', counter);
  $('btn-chat').addEventListener('click', () => {
    const c = conv(S.current);
    if (c.keyChanged) keyChange(c.name); else requestChat(c.name);
  });
  $('btn-safety').addEventListener('click', () => safety(conv(S.current).name));
  $('btn-end').addEventListener('click', async () => {
    const c = conv(S.current);
    try { await S.drv.call('end', { session: c.session }); } catch (e) { notice(c, 'Could not end the chat: ' + e.message); }
  });
  $('btn-accept').addEventListener('click', () => answer(conv(S.current).request, true));
  $('btn-decline').addEventListener('click', () => answer(conv(S.current).request, false));
  $('safety-close').addEventListener('click', () => $('safety').close());
  $('keychange-close').addEventListener('click', () => $('keychange').close());
  $('details-close').addEventListener('click', () => $('details').close());
}

async function enterChat() {
  setText('me', `${S.me.user} · ${shortFP(S.me.fp)}`);
  $('me').title = 'Your identity: ' + S.me.fp;
  setText('conn', 'connected');
  groupConv(BROADCAST);
  render();
  try { await S.drv.call('group_join', { group: BROADCAST }); } catch (e) {
    if (e.code !== 'already_member') notice(groupConv(BROADCAST), 'Could not join Broadcast: ' + e.message);
  }
  try { onUsers((await S.drv.call('list_users')).users); } catch { /* the users event follows */ }
  loadConversations();
  $('text').focus();
}

// loadConversations asks for the stored conversations and their history when the client keeps
// them (the optional commands conversations and history); without them the page starts empty.
async function loadConversations() {
  let res;
  try { res = await S.drv.call('conversations'); } catch { return; }
  for (const it of res.conversations || []) {
    const c = it.group ? groupConv(it.group) : it.peer ? peerConv(it.peer) : null;
    if (!c) continue;
    c.unread = Number(it.unread) || 0;
    try {
      const h = await S.drv.call('history', it.group ? { group: it.group } : { peer: it.peer });
      for (const m of h.messages || []) {
        c.items.push({ type: 'msg', from: m.from, text: m.text, mine: m.from === S.me.user, n: m.n, session: m.session, state: m.state || '' });
      }
    } catch { /* history is optional */ }
  }
  render();
}

// ---- events ------------------------------------------------------------------------------

function onEvent(e) {
  switch (e.event) {
    case 'users': onUsers(e.users); break;
    case 'chat_request': {
      S.requests.set(e.session, e);
      const c = peerConv(e.from);
      c.request = e.session;
      if (S.current !== c.key) c.unread++;
      notice(c, `${e.from} asks for a secured chat. Accept or decline it with the buttons above.`);
      break;
    }
    case 'session': onSession(e); break;
    case 'message': {
      const c = convBySession(e.session) || peerConv(e.from);
      addMessage(c, { from: e.from, text: e.text, mine: false, n: e.n, session: e.session });
      break;
    }
    case 'delivery': onDelivery(e); break;
    case 'group': onGroup(e); break;
    case 'group_message':
      addMessage(groupConv(e.group), { from: e.from, text: e.text, mine: false, n: e.n, epoch: e.epoch });
      break;
    case 'security': onSecurity(e); break;
    case 'pinned':
      if (e.reason === 'trusted') {
        const c = peerConv(e.peer);
        c.keyChanged = false; c.verified = false; c.fp = e.fingerprint;
        notice(c, `You now trust ${e.peer}\u2019s new key. Compare safety numbers to be sure it is them.`);
      }
      break;
    case 'connection':
      if (e.state === 'reconnecting') countdown(e.attempt, e.delay_ms);
      else { stopCountdown(); banner(''); setText('conn', 'connected'); }
      break;
    case 'disconnected':
      setText('conn', 'disconnected');
      banner(`Disconnected from the relay (${e.code}${e.reason ? ': ' + e.reason : ''}).`);
      break;
    case 'relay_error': {
      const c = (e.session && convBySession(e.session)) || (e.group && groupConv(e.group)) || (e.peer && peerConv(e.peer)) || conv(S.current);
      notice(c, `The relay refused a message: ${e.message}`, { code: e.code, for: e.for });
      break;
    }
  }
  render();
}

function onUsers(users) {
  S.online = new Set(users || []);
  for (const u of S.online) if (u !== S.me.user) peerConv(u);
  render();
}

function onSession(e) {
  const c = peerConv(e.peer);
  if (e.state === 'requested' || e.state === 'handshaking' || e.state === 'secured' || !c.session || c.session === e.session) {
    c.session = e.session;
    c.state = e.state;
    c.reason = e.reason || '';
  }
  if (c.request === e.session && e.state !== 'requested') { c.request = ''; S.requests.delete(e.session); }
  if (e.state === 'secured') {
    refreshVerification(c);
    notice(c, `Secured: this chat with ${e.peer} is end-to-end encrypted.`);
  } else if (['ended', 'ended_unverified', 'failed', 'declined'].includes(e.state)) {
    const words = { ended: 'The chat ended.', ended_unverified: 'The chat ended without confirmation from the other side.', failed: 'The chat failed and is no longer secured.', declined: 'The chat request was declined.' }[e.state];
    notice(c, words + (e.reason ? ` (${e.reason})` : ''));
  }
}

async function refreshVerification(c) {
  try {
    const v = await S.drv.call('verification', { peer: c.name });
    c.fp = v.fingerprint || ''; c.verified = !!v.verified;
    render();
  } catch { /* the status line shows what is known */ }
}

function onDelivery(e) {
  const c = convBySession(e.session) || peerConv(e.peer);
  const m = c.items.find((it) => it.type === 'msg' && it.mine && it.session === e.session && it.n === e.n);
  if (m) m.state = e.state; else S.deliveries.set(`${e.session} ${e.n}`, e.state);
}

function onGroup(e) {
  const c = groupConv(e.group);
  const before = new Set(c.members);
  const joined = e.members.filter((m) => !before.has(m) && m !== S.me.user);
  const left = c.members.filter((m) => !e.members.includes(m));
  if (c.joined) {
    for (const m of joined) notice(c, `${m} joined.`);
    for (const m of left) notice(c, `${m} left.`);
  }
  c.members = e.members; c.epoch = e.epoch; c.joined = e.members.includes(S.me.user);
  // spec §9 [CLI-31]: secured only with the members that showed they hold the epoch.
  c.missing = Array.isArray(e.missing) ? e.missing : [];
}

function onSecurity(e) {
  let c = (e.session && convBySession(e.session)) || (e.group && groupConv(e.group)) || (e.peer && peerConv(e.peer)) || conv(S.current);
  if (e.code === 'key_changed' && e.peer) {
    c = peerConv(e.peer);
    c.keyChanged = true;
    keyChange(e.peer);
  }
  notice(c, securityWords(e.code), { code: e.code, rule: e.rule, detail: e.detail, peer: e.peer, session: e.session, group: e.group });
}

// ---- actions -----------------------------------------------------------------------------

async function requestChat(peer) {
  const c = peerConv(peer);
  try {
    const r = await S.drv.call('chat', { peer });
    c.session = r.session;
    if (c.state === 'none' || c.state.startsWith('ended') || c.state === 'failed' || c.state === 'declined') c.state = 'requested';
  } catch (e) {
    if (e.code === 'key_changed') { c.keyChanged = true; keyChange(peer); } else notice(c, `Could not ask ${peer} for a chat: ${e.message}`);
  }
  render();
}

async function answer(session, accept) {
  if (!session) return;
  const req = S.requests.get(session);
  const c = req ? peerConv(req.from) : conv(S.current);
  try {
    await S.drv.call(accept ? 'accept' : 'decline', { session });
    // The handshake may finish, and its session event arrive, before the answer to accept does:
    // a state that event set is newer than handshaking and stays.
    const newer = c.session === session && !['none', 'requested'].includes(c.state);
    if (accept && !newer) { c.session = session; c.state = 'handshaking'; }
  } catch (e) {
    if (e.code === 'key_changed') { c.keyChanged = true; keyChange(c.name); } else notice(c, 'Could not answer: ' + e.message);
  }
  c.request = ''; S.requests.delete(session);
  render();
}

function codePoints(s) { return [...s].length; }

function counter() {
  const n = codePoints($('text').value);
  const p = $('counter');
  p.textContent = n > MAX_TEXT ? `${n} / ${MAX_TEXT}: ${n - MAX_TEXT} too many` : `${n} / ${MAX_TEXT}`;
  p.classList.toggle('over', n > MAX_TEXT);
  $('send').disabled = !canSend(conv(S.current)) || n > MAX_TEXT;
}

function canSend(c) {
  if (c.kind === 'group') return c.joined;
  return c.state === 'secured' && !c.keyChanged;
}

async function send() {
  const c = conv(S.current);
  const text = $('text').value;
  if (!text.trim() || codePoints(text) > MAX_TEXT || !canSend(c)) return;
  $('text').value = '';
  counter();
  await deliver(c, { from: S.me.user, text, mine: true, state: 'sending', session: c.session });
}

// deliver sends one message and follows its state; a failed one keeps its text to resend.
async function deliver(c, m) {
  if (!c.items.includes(m)) { m = { type: 'msg', ...m }; c.items.push(m); }
  m.state = 'sending'; m.error = '';
  render();
  try {
    if (c.kind === 'group') {
      const r = await S.drv.call('group_send', { group: c.name, text: m.text });
      m.n = r.n; m.epoch = r.epoch;
      m.state = 'relayed'; // groups have no receipts
    } else {
      m.session = c.session;
      const r = await S.drv.call('send', { session: c.session, text: m.text });
      m.n = r.n;
      const early = S.deliveries.get(`${m.session} ${m.n}`);
      S.deliveries.delete(`${m.session} ${m.n}`);
      m.state = early || (m.state === 'sending' ? 'relayed' : m.state);
    }
  } catch (e) {
    m.state = 'failed';
    m.error = e.code === 'user_offline' ? `${c.name} is offline; it was not sent.` : e.message;
  }
  render();
}

function addMessage(c, m) {
  c.items.push({ type: 'msg', ...m });
  if (S.current !== c.key) c.unread++;
}

function notice(c, text, details) {
  c.items.push({ type: 'notice', text, details });
}

async function safety(peer) {
  const d = $('safety');
  setText('safety-peer', peer);
  setText('safety-digits', '…');
  setText('safety-state', '');
  $('safety-qr').removeAttribute('src');
  const mark = $('safety-mark');
  try {
    const v = await S.drv.call('verification', { peer });
    setText('safety-digits', groupDigits(v.digits));
    $('safety-qr').src = 'data:image/svg+xml;base64,' + btoa(v.qr_svg);
    const c = peerConv(peer);
    c.fp = v.fingerprint || ''; c.verified = !!v.verified;
    setText('safety-state', v.verified ? `Verified: you compared this number for ${peer}\u2019s current key.` : 'Not verified yet.');
    $('safety-state').classList.toggle('ok', !!v.verified);
    mark.disabled = !!v.verified || !v.fingerprint;
    mark.onclick = async () => {
      try {
        await S.drv.call('mark_verified', { peer, fingerprint: v.fingerprint });
        c.verified = true;
        setText('safety-state', `Verified: you compared this number for ${peer}\u2019s current key.`);
        $('safety-state').classList.add('ok');
        mark.disabled = true;
        render();
      } catch (e) { setText('safety-state', e.code === 'key_changed' ? `${peer}\u2019s key changed meanwhile; compare again.` : e.message); }
    };
  } catch (e) {
    setText('safety-digits', '');
    setText('safety-state', e.code === 'key_changed' ? `${peer}\u2019s key changed: review the change first.` : 'No safety number: ' + e.message);
    mark.disabled = true;
  }
  if (!d.open) d.showModal();
  $('safety-close').focus();
}

// keyChange shows the blocking dialog with the old and the new fingerprint (spec §6.6
// [TRUST-2]): nothing is sent to that peer until the user trusts the new key.
async function keyChange(peer) {
  const d = $('keychange');
  setText('keychange-peer', peer);
  setText('keychange-old', '…');
  setText('keychange-new', '…');
  setText('keychange-error', '');
  if (!d.open) d.showModal();
  $('keychange-close').focus();
  try {
    const k = await S.drv.call('peer_keys', { peer });
    setText('keychange-old', k.pinned || 'none');
    setText('keychange-new', k.served);
  } catch (e) { setText('keychange-error', e.message); }
  $('keychange-trust').onclick = async () => {
    try {
      await S.drv.call('trust', { peer });
      peerConv(peer).keyChanged = false;
      d.close();
      render();
    } catch (e) { setText('keychange-error', e.message); }
  };
}

function showDetails(details) {
  const list = $('details-list');
  list.replaceChildren();
  const names = { code: 'Outcome code', rule: 'Rule (spec/protocol.md)', detail: 'Detail', peer: 'Peer', session: 'Session', group: 'Group', for: 'Refused request' };
  for (const [k, v] of Object.entries(details)) {
    if (v === undefined || v === '') continue;
    list.append(el('dt', { text: names[k] || k }), el('dd', { text: String(v) }));
  }
  $('details').showModal();
  $('details-close').focus();
}

function banner(text, fatal = false) {
  const b = $('banner');
  b.textContent = text;
  b.classList.toggle('fatal', fatal);
  show(b, !!text);
}

// countdown shows the reconnect banner with the time left before the next attempt (CLI-3).
function countdown(attempt, ms) {
  stopCountdown();
  setText('conn', 'reconnecting');
  const until = Date.now() + (ms || 0);
  const tick = () => {
    const left = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    banner(left > 0 ? `Connection to the relay lost. Reconnecting in ${left} s (attempt ${attempt})…` : `Connection to the relay lost. Reconnecting now (attempt ${attempt})…`);
  };
  tick();
  S.countdown = setInterval(tick, 1000);
}

function stopCountdown() {
  if (S.countdown) clearInterval(S.countdown);
  S.countdown = null;
}

// ---- rendering ---------------------------------------------------------------------------

function select(key) {
  S.current = key;
  conv(key).unread = 0;
  render();
  $('text').focus();
}

function render() {
  if ($('app').hidden) return;
  renderSidebar();
  renderConversation();
  counter();
}

function renderSidebar() {
  const reqs = $('requests');
  reqs.replaceChildren(...[...S.requests.values()].map((r) => el('li', { class: 'request', 'data-session': r.session },
    el('span', { class: 'name', text: r.from }),
    el('button', { type: 'button', class: 'primary accept', text: 'Accept', 'aria-label': `Accept the chat request of ${r.from}`, on: { click: () => answer(r.session, true) } }),
    el('button', { type: 'button', class: 'decline', text: 'Decline', 'aria-label': `Decline the chat request of ${r.from}`, on: { click: () => answer(r.session, false) } }),
  )));
  show($('no-requests'), S.requests.size === 0);

  const keys = [...S.convs.keys()].filter((k) => k !== 'p:' + S.me.user);
  keys.sort((a, b) => (a === 'g:' + BROADCAST ? -1 : b === 'g:' + BROADCAST ? 1 : a.localeCompare(b)));
  $('people').replaceChildren(...keys.map((k) => {
    const c = conv(k);
    const online = c.kind === 'group' ? c.joined : S.online.has(c.name);
    const label = c.kind === 'group' ? (c.name === BROADCAST ? 'Broadcast' : '#' + c.name) : c.name;
    const presence = c.kind === 'group' ? `${c.members.length} members` : online ? 'online' : 'offline';
    return el('li', {},
      el('button', { type: 'button', class: 'conv' + (k === S.current ? ' current' : ''), 'data-conv': k, 'aria-current': k === S.current ? 'true' : undefined, on: { click: () => select(k) } },
        el('span', { class: 'dot' + (online ? ' on' : ''), 'aria-hidden': 'true' }),
        el('span', { class: 'name', text: label }),
        el('span', { class: 'presence', text: presence }),
        c.unread ? el('span', { class: 'unread', text: String(c.unread), 'aria-label': `${c.unread} unread` }) : null,
      ));
  }));
}

function statusLine(c) {
  if (c.kind === 'group') {
    if (!c.joined) return { ok: false, text: 'Not joined yet: messages cannot be sent.' };
    const others = c.members.filter((m) => m !== S.me.user);
    const missing = (c.missing || []).filter((m) => others.includes(m));
    if (missing.length) {
      const n = others.length - missing.length;
      return { ok: false, partial: true, text: `Secured with ${n} of ${others.length}: waiting for ${missing.join(', ')} to confirm the group key. Until then they cannot read what you send.` };
    }
    return { ok: true, text: `End-to-end encrypted for ${c.members.length} members${others.length ? ': ' + others.join(', ') + ' and you' : ' (only you so far)'}, as ${S.me.user}.` };
  }
  if (c.keyChanged) return { ok: false, text: `${c.name}\u2019s key changed and is not trusted: nothing is sent to ${c.name}.` };
  switch (c.state) {
    case 'secured':
      return { ok: true, text: `End-to-end secured with ${c.name}${c.fp ? ' (' + shortFP(c.fp) + ')' : ''}, ${c.verified ? 'safety number verified' : 'safety number not verified'}; you are ${S.me.user}.` };
    case 'requested': return { ok: false, text: `Not secured yet: waiting for ${c.name} to accept.` };
    case 'handshaking': return { ok: false, text: 'Not secured yet: setting up encryption…' };
    case 'ended': return { ok: false, text: 'Not secured: the chat ended.' + (c.reason ? ` (${c.reason})` : '') };
    case 'ended_unverified': return { ok: false, text: 'Not secured: the chat ended without confirmation.' + (c.reason ? ` (${c.reason})` : '') };
    case 'failed': return { ok: false, text: 'Not secured: the chat failed.' + (c.reason ? ` (${c.reason})` : '') };
    case 'declined': return { ok: false, text: 'Not secured: the request was declined.' };
    default: return { ok: false, text: `Not secured. Start a secured chat to write to ${c.name}.` };
  }
}

function renderConversation() {
  const c = conv(S.current);
  setText('conv-title', c.kind === 'group' ? (c.name === BROADCAST ? 'Broadcast' : '#' + c.name) : c.name);
  const st = statusLine(c);
  const sec = $('secured');
  sec.replaceChildren(el('span', { class: 'badge', text: st.ok ? 'Secured' : st.partial ? 'Partly secured' : 'Not secured' }), ' ', st.text);
  sec.classList.toggle('ok', st.ok);
  sec.dataset.state = c.kind === 'group' ? (!c.joined ? 'none' : st.partial ? 'partial' : 'joined') : c.keyChanged ? 'key_changed' : c.state;

  const peer = c.kind === 'peer';
  const idle = ['none', 'ended', 'ended_unverified', 'failed', 'declined'].includes(c.state);
  show($('btn-chat'), peer && (c.keyChanged || (idle && !c.request)));
  $('btn-chat').textContent = c.keyChanged ? 'Review the key change' : 'Start secured chat';
  show($('btn-safety'), peer && !c.keyChanged);
  show($('btn-end'), peer && c.state === 'secured');
  show($('incoming'), peer && !!c.request);
  setText('incoming-text', c.request ? `${c.name} asks for a secured chat.` : '');

  const list = $('messages');
  const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
  list.replaceChildren(...c.items.map((it) => (it.type === 'notice' ? noticeItem(it) : messageItem(c, it))));
  if (stick) list.scrollTop = list.scrollHeight;
}

function noticeItem(it) {
  return el('li', { class: 'notice' + (it.details && it.details.rule ? ' security' : '') },
    el('span', { text: it.text }),
    it.details ? el('button', { type: 'button', class: 'link', text: 'Details', on: { click: () => showDetails(it.details) } }) : null);
}

function messageItem(c, m) {
  const meta = m.mine ? el('span', { class: 'state', 'data-state': m.state, text: deliveryWords(m.state) }) : null;
  const resend = m.mine && m.state === 'failed'
    ? el('button', { type: 'button', class: 'link', text: 'Resend', on: { click: () => { if (canSend(c)) deliver(c, m); else { $('text').value = m.text; counter(); $('text').focus(); } } } })
    : null;
  return el('li', { class: 'msg ' + (m.mine ? 'mine' : 'theirs'), 'data-n': m.n === undefined ? undefined : String(m.n) },
    el('span', { class: 'from', text: m.from }),
    el('p', { class: 'text', text: m.text }),
    el('span', { class: 'meta' }, meta, m.error ? el('span', { class: 'why', text: m.error }) : null, resend));
}

start();
