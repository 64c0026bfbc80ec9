/* app.js - the appliance's dashboard (API.md section 3). Live figures come
 * from the /api/events stream (event: status, event: job); the jobs table
 * starts from GET /api/jobs and is fetched again after every reconnect.
 * Utilisation is worked out here from busy_us between status documents. */
'use strict';
(() => {
const $ = id => document.getElementById(id);
const WIN = 5e6;        // utilisation window, us
const TILE_MAX = 64;    // more cores than this: a heat map instead of tiles
const RECENT = 20;      // finished jobs shown
const RANK = { queued: 0, running: 1, done: 2, cancelled: 2 };
const TK = 'applianceToken';

let st = null, stAt = 0;        // last status document, performance.now() at its arrival
let cores = [], mode = '';      // per core: state, busy_us, tasks, busy since; 'tiles' | 'hm'
let hist = [];                  // [{t: uptime_us, b: [busy_us estimate per core]}]
const jobs = new Map();         // id -> job object (+ at: performance.now() when it came)
const rows = new Map();         // id -> its <tr>
let es = null, conn = '', everLive = false, retryT = 0, pollT = 0, pollSig = '';
let mine = 0, sending = false;  // the last job submitted from this page

const parse = d => { try { return JSON.parse(d); } catch (e) { return null; } };
const esc = s => String(s).replace(/[&<>"]/g, c => '&#' + c.charCodeAt(0) + ';');
const fmtN = n => n == null ? '\u2013' : Number(n).toLocaleString('en-US');
const pct = u => Math.round(u * 100) + '%';
const clamp = u => u < 0 ? 0 : u > 1 ? 1 : u;

function fmtUs(us) {
	if (us == null) return '\u2013';
	if (us < 1000) return Math.round(us) + ' \u00b5s';
	if (us < 1e6) return (us / 1000).toFixed(us < 1e4 ? 2 : 1) + ' ms';
	if (us < 6e7) return (us / 1e6).toFixed(us < 1e7 ? 2 : 1) + ' s';
	return fmtUp(us);
}
function fmtUp(us) {
	const s = Math.floor(us / 1e6), d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24,
		m = Math.floor(s / 60) % 60;
	if (s < 60) return s + ' s';
	if (s < 3600) return m + ' min ' + (s % 60) + ' s';
	return (d ? d + ' d ' : '') + h + ' h ' + m + ' min';
}
function fmtB(b) {
	if (b == null) return '\u2013';
	const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
	return (i ? b.toFixed(1) : b) + ' ' + u[i];
}
function setText(el, t) { if (el.textContent !== t) el.textContent = t; }
function getTok() { try { return sessionStorage.getItem(TK) || ''; } catch (e) { return ''; } }
function putTok(t) { try { t ? sessionStorage.setItem(TK, t) : sessionStorage.removeItem(TK); } catch (e) { /* no storage: ask again next time */ } }

/* Uptime now, extrapolated from the last status document while connected. */
function nowUs() {
	return st ? st.uptime_us + (conn === 'down' ? 0 : (performance.now() - stAt) * 1000) : 0;
}

/* ---- connection ---- */

function setConn(c) {
	if (c === conn) return;
	conn = c;
	const p = $('conn');
	p.textContent = { live: 'live', down: 'disconnected', poll: 'polling' }[c];
	p.className = 'pill ' + c;
	$('banner').hidden = c !== 'down';
	document.body.classList.toggle('down', c === 'down');
}

function connect() {
	clearTimeout(retryT);
	if (es) es.close();
	es = new EventSource('/api/events');
	es.addEventListener('status', ev => { const s = parse(ev.data); if (s) onStatus(s); });
	es.addEventListener('job', ev => {
		const j = parse(ev.data);
		if (j && j.id != null && putJob(j)) renderJobs();
	});
	es.onopen = () => {
		clearInterval(pollT); pollT = 0;
		setConn('live');
		hist = [];      // a gap in the samples: start the window afresh
		if (everLive) {
			// Perhaps a new appliance: what we hold is stale until the list says otherwise.
			for (const j of jobs.values()) j.stale = true;
			fetchJobs();
		}
		everLive = true;
	};
	es.onerror = () => {
		if (es.readyState === EventSource.CLOSED) {
			// Refused (no 200 text/event-stream, e.g. 503: too many streams):
			// EventSource gives up, so poll the status and try again later.
			es.close(); es = null;
			retryT = setTimeout(connect, 5000);
			if (!pollT) { pollT = setInterval(poll, 2000); poll(); }
		} else setConn('down');      // EventSource reconnects by itself
	};
}

async function poll() {
	try {
		const r = await fetch('/api/status', { cache: 'no-store' });
		const s = r.ok ? await r.json() : null;
		if (!s) throw new Error();
		if (conn === 'down') { for (const j of jobs.values()) j.stale = true; fetchJobs(); }
		setConn('poll');
		onStatus(s);
		const sig = JSON.stringify(s.jobs);     // no job events here: list again on a change
		if (sig !== pollSig) { pollSig = sig; fetchJobs(); }
	} catch (e) { setConn('down'); }
}

async function fetchJobs() {
	let d = null;
	try {
		const r = await fetch('/api/jobs?limit=' + RECENT, { cache: 'no-store' });
		d = r.ok ? await r.json() : null;
	} catch (e) { /* the stream's reconnect will ask again */ }
	if (!d || !Array.isArray(d.jobs)) return;
	for (const j of d.jobs) putJob(j);
	for (const [id, j] of jobs) if (j.stale) jobs.delete(id);
	renderJobs();
}

/* ---- status ---- */

function busyAt(k, t) { return k.busy + (k.since != null ? Math.max(0, t - k.since) : 0); }

function sample(t) {
	hist.push({ t, b: cores.map(k => busyAt(k, t)) });
	while (hist.length > 2 && hist[1].t <= t - WIN) hist.shift();
}

function util(i, t, b) {
	const h = hist[0], dt = h ? t - h.t : 0;
	if (dt < 2e5) return cores[i].state === 'busy' ? 1 : 0;
	return clamp((b - h.b[i]) / dt);
}

function onStatus(s) {
	if (!s || !Array.isArray(s.cores)) return;
	if (st && s.uptime_us < st.uptime_us) {         // the appliance restarted
		hist = []; mode = '';
		for (const j of jobs.values()) j.stale = true;
		fetchJobs();
	}
	// A core seen busy began its task since the last document: while
	// polling, halfway back; a status event comes as the state changes.
	const prev = st && conn === 'poll' && st.uptime_us < s.uptime_us ? st.uptime_us : s.uptime_us;
	const began = (prev + s.uptime_us) / 2;
	st = s; stAt = performance.now();
	const n = s.cores.length, want = n > TILE_MAX ? 'hm' : 'tiles';
	if (n !== cores.length || want !== mode) build(n, want);
	s.cores.forEach((c, i) => {
		const k = cores[i];
		// busy_us grows when a task ends; count a running task from when we saw it start.
		if (c.state !== 'busy') k.since = null;
		else if (k.state !== 'busy' || c.tasks_done !== k.tasks) k.since = began;
		k.state = c.state; k.busy = c.busy_us; k.tasks = c.tasks_done; k.c = c;
	});
	sample(s.uptime_us);
	render(s.uptime_us);
}

function build(n, want) {
	const box = $('cores');
	box.textContent = '';
	box.className = want === 'hm' ? 'hm' + (n > 256 ? ' big' : '') : 'tiles';
	if (want === 'hm') box.setAttribute('role', 'img'); else box.removeAttribute('role');
	cores = []; hist = []; mode = want;
	for (let i = 0; i < n; i++) {
		const k = { state: '', busy: 0, tasks: -1, since: null };
		if (want === 'hm') {
			k.el = document.createElement('i');
		} else {
			k.el = document.createElement('div');
			k.el.innerHTML = '<b></b> <span class="n"></span><span class="st"></span>' +
				'<div class="bar"><i></i></div><div><span class="u"></span> busy, ' +
				'<span class="t"></span> tasks</div><div class="n hw"></div>';
			for (const f of ['st', 'u', 't', 'hw']) k[f] = k.el.querySelector('.' + f);
			k.bar = k.el.querySelector('.bar i');
		}
		box.appendChild(k.el);
		cores.push(k);
	}
	setText($('c-leg'), want === 'hm' ? '\u00b7 dark fill: share of the last 5 s spent on tasks (hover a square for details)' : '');
}

function render(t) {
	renderCores(t);
	const s = st, q = s.queue || {}, jb = s.jobs || {};
	const up = $('s-up');
	setText(up, fmtUp(t));
	up.dataset.us = Math.floor(t);
	setText($('s-queue'), fmtN(q.depth) + ' / ' + fmtN(q.capacity) + ' tasks');
	$('s-qm').value = q.capacity ? q.depth / q.capacity : 0;
	setText($('s-fly'), fmtN(jb.running));
	const a = s.address || (s.net && s.net.address);
	setText($('s-addr'), a || location.host);
	renderCounters();
}

function renderCores(t) {
	let nb = 0, ni = 0, nh = 0, sum = 0, tasks = 0;
	const hm = mode === 'hm';
	cores.forEach((k, i) => {
		const c = k.c, u = util(i, t, busyAt(k, t));
		if (!c) return;
		sum += u; tasks += c.tasks_done;
		if (k.state === 'busy') nb++; else if (k.state === 'idle') ni++; else nh++;
		const cls = (hm ? '' : 'tile ') + k.state;
		if (k.el.className !== cls) k.el.className = cls;
		const info = 'core ' + c.id + ' (' + c.role + ', APIC ' + c.apic_id + '): ' + k.state +
			', ' + pct(u) + ' busy over 5 s, ' + c.tasks_done + ' tasks, ' + c.halts +
			' halts, ' + c.wakes + ' wakes';
		if (k.el.title !== info) k.el.title = info;
		if (hm) {
			k.el.style.setProperty('--u', Math.round(u * 100) + '%');
			return;
		}
		setText(k.el.firstChild, String(c.id));
		setText(k.el.children[1], c.role);
		setText(k.st, k.state);
		setText(k.u, pct(u));
		setText(k.t, fmtN(c.tasks_done));
		setText(k.hw, fmtN(c.halts) + ' halts, ' + fmtN(c.wakes) + ' wakes');
		k.bar.style.width = pct(u);
	});
	const n = cores.length;
	if (!n) return;
	setText($('c-tot'), n + ' online: ' + nb + ' busy, ' + ni + ' idle, ' + nh + ' halted \u00b7 ' +
		fmtN(tasks) + ' tasks done');
	if (hm) $('cores').setAttribute('aria-label', 'heat map of ' + n + ' cores: ' + nb + ' busy, ' +
		ni + ' idle, ' + nh + ' halted');
	setText($('s-cores'), n + ' (' + nb + ' busy)');
	setText($('s-util'), pct(sum / n));
}

function renderCounters() {
	const s = st, j = s.jobs || {}, n = s.net, m = s.memory, p = s.smp, l = s.lwip;
	const card = (title, kv) => '<div><dt>' + title + '</dt>' + kv.filter(x => x[1] != null)
		.map(x => '<dd class="kv"><span>' + x[0] + '</span>' + esc(x[1]) + '</dd>').join('') + '</div>';
	let h = card('Jobs', [['accepted', fmtN(j.accepted)], ['running', fmtN(j.running)],
		['done', fmtN(j.done)], ['cancelled', fmtN(j.cancelled)],
		['rejected (full)', fmtN(j.rejected)], ['bad requests', fmtN(j.bad)]]);
	if (n) {
		let stack = null;
		if (l) { stack = 0; for (const k in l) if (/_drops$/.test(k)) stack += l[k]; }
		h += card('Network', [['link', n.link], ['rx', fmtN(n.rx_packets) + ' pkts, ' + fmtB(n.rx_bytes)],
			['tx', fmtN(n.tx_packets) + ' pkts, ' + fmtB(n.tx_bytes)],
			['rx drops', fmtN(n.rx_drops)], ['tx drops', fmtN(n.tx_drops)],
			['stack drops', stack == null ? null : fmtN(stack)]]);
	}
	const ht = s.http, u = s.udp;
	if (ht || u) h += card('Requests', [['HTTP open', ht && fmtN(ht.open)],
		['HTTP refused (503)', ht && fmtN(ht.refused)], ['HTTP reset', ht && fmtN(ht.reset)],
		['UDP bad', u && fmtN(u.bad)], ['UDP busy', u && fmtN(u.busy)],
		['UDP replies lost', u && fmtN(u.replies_lost)]]);
	if (m) h += card('Memory', [['heap', fmtB(m.heap_used_bytes) + ' / ' + fmtB(m.heap_bytes)],
		['peak', fmtB(m.heap_peak_bytes)], ['failures', fmtN(m.heap_failures)]]);
	if (p) h += card('Processors', [['discovered', fmtN(p.discovered)], ['online', fmtN(p.online)],
		['parked', fmtN(p.parked)],
		['max serve gap', s.bsp ? fmtUs(s.bsp.serve_gap_max_us) : null]]);
	const c = $('cnt');
	if (c._h !== h) { c.innerHTML = h; c._h = h; }
}

/* ---- jobs ---- */

/* Keeps the furthest state seen for a job: an event may overtake an answer. */
function putJob(j, force) {
	const o = jobs.get(j.id);
	if (o && !o.stale && !force && (RANK[o.state] || 0) > (RANK[j.state] || 0)) return false;
	j.at = performance.now();
	jobs.set(j.id, j);
	if (j.id === mine && RANK[j.state] === 2 && (!o || RANK[o.state] !== 2))
		say(j.state === 'done' ? 'Job ' + j.id + ' done: result ' + fmtN(j.result) + ' in ' +
			fmtUs(j.elapsed_us) + '.' : 'Job ' + j.id + ' was cancelled.', j.state === 'done' ? 'ok' : '');
	return true;
}

function elapsed(j) {
	const e = j.elapsed_us;
	return RANK[j.state] < 2 && conn !== 'down' && e != null ? e + (performance.now() - j.at) * 1000 : e;
}

function row(j) {
	let tr = rows.get(j.id);
	if (!tr) {
		tr = document.createElement('tr');
		tr.dataset.id = j.id;
		tr.innerHTML = '<td></td><td></td><td></td><td></td><td></td><td></td><td></td><td></td>';
		rows.set(j.id, tr);
	}
	const td = tr.children;
	setText(td[0], String(j.id));
	if (tr._s !== j.state) {
		tr._s = j.state;
		td[1].innerHTML = '<span class="s ' + esc(j.state) + '">' + esc(j.state) + '</span>';
	}
	setText(td[2], fmtN(j.limit));
	setText(td[3], fmtN(j.tasks));
	setText(td[4], String(j.mode));
	setText(td[5], j.result == null ? '\u2013' : fmtN(j.result));
	setText(td[6], fmtUs(elapsed(j)));
	const fly = RANK[j.state] < 2, b = td[7].firstChild;
	if (fly && !b) {
		const btn = document.createElement('button');
		btn.type = 'button'; btn.className = 'cx'; btn.textContent = 'Cancel';
		btn.setAttribute('aria-label', 'Cancel job ' + j.id);
		btn.onclick = () => cancel(j.id, btn);
		td[7].appendChild(btn);
	} else if (!fly && b) b.remove();
	return tr;
}

function fill(table, list, none) {
	const tb = table.tBodies[0];
	if (!list.length) {
		if (!tb._none) { tb._none = document.createElement('tr'); tb._none.innerHTML = '<td class="none" colspan="8">' + none + '</td>'; }
		list = null;
	}
	const want = list ? list.map(row) : [tb._none];
	want.forEach((tr, i) => { if (tb.children[i] !== tr) tb.insertBefore(tr, tb.children[i] || null); });
	while (tb.children.length > want.length) tb.lastChild.remove();
}

function renderJobs() {
	const had = document.activeElement, cx = had && had.classList.contains('cx');
	const all = [...jobs.values()].sort((a, b) => b.id - a.id);
	const fly = all.filter(j => RANK[j.state] < 2), fin = all.filter(j => !(RANK[j.state] < 2));
	for (const j of fin.slice(RECENT * 2)) jobs.delete(j.id);
	for (const id of rows.keys()) if (!jobs.has(id)) rows.delete(id);
	fill($('t-fly'), fly, 'No job in flight.');
	fill($('t-done'), fin.slice(0, RECENT), 'No finished job yet.');
	setText($('n-fly'), fly.length ? '(' + fly.length + ')' : '');
	if (cx && !had.isConnected)     // its job ended under a keyboard user: stay in the jobs
		($('t-fly').querySelector('button') || $('f-go')).focus();
}

/* ---- actions ---- */

function say(text, cls) {
	const m = $('msg');
	m.textContent = text;
	m.className = cls || '';
}

function errText(what, r) {
	if (!r.status) return what + ' failed: the appliance could not be reached.';
	const word = { 400: 'refused as malformed', 401: 'not authorised', 404: 'not found',
		409: 'refused', 411: 'refused', 413: 'refused as too large',
		503: 'refused: the appliance is busy' }[r.status] || 'failed';
	return what + ' ' + word + ' (HTTP ' + r.status + '): ' +
		((r.data && r.data.error) || 'no reason given') +
		(r.retry ? ' (retry in ' + r.retry + ' s)' : '') + '.';
}

let tokenAsk = null;
function askToken(why) {
	if (tokenAsk) return tokenAsk;
	tokenAsk = new Promise(res => {
		const d = $('tok'), inp = $('tok-in'), back = document.activeElement;
		setText($('tok-why'), why);
		inp.value = '';
		d.returnValue = '';
		d.addEventListener('close', () => {
			const t = d.returnValue === 'ok' ? inp.value.trim() : '';
			inp.value = '';
			tokenAsk = null;
			if (t) putTok(t);
			if (back && back.focus) back.focus();
			res(t);
		}, { once: true });
		d.showModal();
		inp.focus();
	});
	return tokenAsk;
}

/* One API call; on 401 asks for the token (kept in sessionStorage) and
 * tries again. Answers {status, data, retry}; status 0: no answer. */
async function call(method, path, body) {
	for (let tries = 0; ; tries++) {
		const h = {}, tok = getTok();
		if (tok) h.Authorization = 'Bearer ' + tok;
		if (body) h['Content-Type'] = 'application/json';
		let r;
		try {
			r = await fetch(path, { method, headers: h, body, cache: 'no-store' });
		} catch (e) {
			return { status: 0 };
		}
		let d = null;
		try { d = await r.json(); } catch (e) { /* not JSON */ }
		if (r.status === 401 && tries < 3) {
			if (tok) putTok('');
			const t = await askToken(tok ? 'That token was not accepted. Enter the token the appliance was booted with (token=).'
				: 'This appliance needs a bearer token (its boot parameter token=) to run or cancel jobs.');
			if (t) continue;
		}
		return { status: r.status, data: d, retry: r.headers.get('Retry-After') };
	}
}

$('jf').addEventListener('submit', async ev => {
	ev.preventDefault();
	if (sending) return;
	const num = v => v.trim().replace(/^0+(?=\d)/, '');
	const lim = num($('f-limit').value), tk = num($('f-tasks').value) || '1', md = $('f-mode').value;
	if (!/^\d+$/.test(lim)) return say('Limit must be a whole number, 0 to 1099511627776 (2^40).', 'err');
	if (!/^\d+$/.test(tk)) return say('Tasks must be a whole number, 1 to 1024.', 'err');
	sending = true;
	say('Submitting\u2026');
	const r = await call('POST', '/api/jobs', '{"limit":' + lim + ',"tasks":' + tk + ',"mode":"' + md + '"}');
	sending = false;
	if ((r.status === 202 || r.status === 200) && r.data && r.data.id != null) {
		mine = r.data.id;
		say('Job ' + mine + ' accepted.', 'ok');
		putJob(r.data);
		renderJobs();
	} else say(errText('The job was', r), 'err');
});

async function cancel(id, btn) {
	if (btn.getAttribute('aria-disabled')) return;
	btn.setAttribute('aria-disabled', 'true');      // not disabled: that would drop the focus
	const r = await call('DELETE', '/api/jobs/' + id);
	btn.removeAttribute('aria-disabled');
	if (r.status === 200 && r.data) {
		putJob(r.data, true);
		say('Job ' + id + ' cancelled.', 'ok');
	} else if (r.status === 409 && r.data && r.data.id != null) {
		putJob(r.data);
		say('Job ' + id + ' could not be cancelled: it had already ended (' + r.data.state + ').', 'err');
	} else say(errText('Cancelling job ' + id + ' was', r), 'err');
	renderJobs();
}

/* Once a second: utilisation decays while idle, running jobs' elapsed grows. */
setInterval(() => {
	if (!st || conn === 'down') return;
	const t = nowUs();
	sample(t);
	render(t);
	for (const j of jobs.values()) {
		const tr = rows.get(j.id);
		if (tr && RANK[j.state] < 2) setText(tr.children[6], fmtUs(elapsed(j)));
	}
}, 1000);

setText($('s-addr'), location.host);
renderJobs();
fetchJobs();
connect();
})();
