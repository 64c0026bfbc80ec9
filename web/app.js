/* app.js - the appliance's dashboard (API.md section 3).
 *
 * One model (M) holds all the page knows: the last status document, each
 * core, the jobs and the charts' history (charts.js). The event stream
 * and the API's answers only update M; render() then draws every view
 * from it in one go (summary cards, core tiles, job tables, counters,
 * charts), so no card can disagree with a table. Live figures come from
 * /api/events (event: status, event: job); the jobs start from GET
 * /api/jobs, fetched again after every reconnect. Utilisation is worked
 * out here from busy_us between status documents. */
'use strict';
(() => {
const $ = id => document.getElementById(id);
const WIN = 5e6;        // utilisation window of the tiles, us
const TILE_MAX = 64;    // more cores than this: a heat map instead of tiles
const RECENT = 20;      // finished jobs shown
const INFLIGHT_MAX = 64;        // jobs in flight an appliance holds (API.md, Capacities)
const HISTORY_MAX = 256;        // finished jobs it remembers
const APART_MS = 3000;  // the appliance's and the page's count of jobs in flight differ this long: list again
const DRIFT = 0.01;     // how much slower than the page's the appliance's clock may run (ms per ms)
const RANK = { queued: 0, running: 1, done: 2, cancelled: 2 };
const TK = 'applianceToken';
const SCHED = { share: 'each job in chunks, cores take turns over the jobs',
	task: 'whole tasks, oldest job first' };

/* The model. Written by the event handlers and API answers only. */
const M = {
	st: null, stAt: 0,      // the last status document, performance.now() at its arrival
	off: null,              // page ms minus the appliance's uptime ms (the least delay seen)
	cores: [],              // per core: {state, busy, tasks, chunks, since (us, seen busy from), c}
	win: [],                // [{t: uptime_us, b: [busy_us estimate per core]}], the tiles' 5 s
	jobs: new Map(),        // id -> job object (+ at: performance.now() when it came)
	hist: new Charts.History(),
	charted: new Set(),     // ids of ended jobs already in the history
	conn: '',               // 'live' | 'down' | 'poll'
	gap: false,             // the stream was lost since the last status document
	apart: 0, relisted: '', // since when the counts of jobs in flight differ; for which counts we listed
	mine: 0,                // the last job submitted from this page
};

/* The views (DOM) the model is drawn into. */
let tiles = [], mode = '';      // per core its element(s); 'tiles' | 'hm'
const rows = new Map();         // job id -> its <tr>
let es = null, everLive = false, retryT = 0, pollT = 0, pollSig = '', sending = false, frame = 0;

const parse = d => { try { return JSON.parse(d); } catch (e) { return null; } };
const esc = s => String(s).replace(/[&<>"]/g, c => '&#' + c.charCodeAt(0) + ';');
const fmtN = n => n == null ? '\u2013' : Number(n).toLocaleString('en-US');
const plural = (n, one, many) => fmtN(n) + ' ' + (n === 1 ? one : many || one + 's');
const pct = u => Math.round(u * 100) + '%';
const clamp = u => u < 0 ? 0 : u > 1 ? 1 : u;
const fmtCores = c => Number(c.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 2 });

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
	return M.st ? M.st.uptime_us + (M.conn === 'down' ? 0 : (performance.now() - M.stAt) * 1000) : 0;
}

/* All views, drawn from M at the next frame (one frame for a burst of events). */
function schedule() {
	if (!frame) frame = requestAnimationFrame(render);
}

/* ---- connection ---- */

function setConn(c) {
	if (c === M.conn) return;
	M.conn = c;
	if (c === 'down') M.gap = true;
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
	es.addEventListener('status', ev => onStatus(parse(ev.data)));
	es.addEventListener('job', ev => onJob(parse(ev.data)));
	es.onopen = () => {
		clearInterval(pollT); pollT = 0;
		setConn('live');
		M.win = [];     // a gap in the samples: start the tiles' window afresh
		if (everLive) {
			// Perhaps a new appliance: what we hold is stale until the list says otherwise.
			for (const j of M.jobs.values()) j.stale = true;
			fetchJobs();
		}
		everLive = true;
	};
	es.onerror = () => {
		if (es.readyState === EventSource.CLOSED) {
			// Refused (no 200 text/event-stream, e.g. 503: too many streams):
			// EventSource gives up, so poll the status and try again later.
			es.close(); es = null;
			M.gap = true;
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
		if (M.conn === 'down') { for (const j of M.jobs.values()) j.stale = true; fetchJobs(); }
		setConn('poll');
		onStatus(s);
		const sig = JSON.stringify(s.jobs);     // no job events here: list again on a change
		if (sig !== pollSig) { pollSig = sig; fetchJobs(); }
	} catch (e) { setConn('down'); schedule(); }
}

async function fetchJobs(limit) {
	let d = null;
	try {
		const r = await fetch('/api/jobs?limit=' + (limit || INFLIGHT_MAX + RECENT), { cache: 'no-store' });
		d = r.ok ? await r.json() : null;
	} catch (e) { /* the stream's reconnect will ask again */ }
	if (!d || !Array.isArray(d.jobs)) return;
	for (const j of d.jobs) putJob(j);
	for (const [id, j] of M.jobs) if (j.stale) M.jobs.delete(id);
	trimJobs();
	schedule();
}

/* ---- the model: status ---- */

/* A core's busy time in us at uptime t: busy_us, plus the time since it
 * was seen busy (busy_us grows when a task, or a chunk, ends). */
function busyAt(k, t) { return k.busy + (k.since != null ? Math.max(0, t - k.since) : 0); }

function sampleWin(t) {
	M.win.push({ t, b: M.cores.map(k => busyAt(k, t)) });
	while (M.win.length > 2 && M.win[1].t <= t - WIN) M.win.shift();
}

function nBusySeen() {
	let n = 0;
	for (const k of M.cores) if (k.since != null) n++;
	return n;
}

function onStatus(s) {
	if (!s || !Array.isArray(s.cores) || typeof s.uptime_us !== 'number') return;
	const now = performance.now(), old = M.st, q = s.queue || {};
	let how = M.gap ? 'gap' : 'next';
	const restarted = old && (s.uptime_us < old.uptime_us ||
		(s.jobs && old.jobs && s.jobs.accepted < old.jobs.accepted));
	if (!old || restarted || s.cores.length !== M.cores.length) {
		how = 'start';  // the first document of an appliance: nothing to compare with
		M.off = now - s.uptime_us / 1000;
		M.win = [];
		M.cores = s.cores.map(() => ({ state: '', busy: 0, tasks: -1, chunks: -1, since: null }));
		if (restarted) {
			for (const j of M.jobs.values()) j.stale = true;
			M.charted.clear();
			fetchJobs();
		}
	} else M.off = Math.min(M.off + (now - M.stAt) * DRIFT, now - s.uptime_us / 1000);
	M.gap = false;
	// A core seen busy began its task since the last document: while
	// polling, halfway back; a status event comes as the state changes.
	const began = old && M.conn === 'poll' && old.uptime_us < s.uptime_us ?
		(old.uptime_us + s.uptime_us) / 2 : s.uptime_us;
	const nBusy = nBusySeen();
	let S = 0;
	s.cores.forEach((c, i) => {
		const k = M.cores[i];
		if (c.state !== 'busy') k.since = null;
		else if (k.state !== 'busy' || c.tasks_done !== k.tasks || c.busy_us !== k.busy ||
			 (c.chunks_done != null && c.chunks_done !== k.chunks)) k.since = began;
		k.state = c.state; k.busy = c.busy_us; k.tasks = c.tasks_done; k.chunks = c.chunks_done;
		k.c = c;
		S += busyAt(k, s.uptime_us);
	});
	M.st = s; M.stAt = now;
	sampleWin(s.uptime_us);
	M.hist.status(s.uptime_us / 1000 + M.off, S / 1000, nBusy, q.depth, s.cores.length, how,
		M.conn === 'live');
	reconcile();
	schedule();
}

/* ---- the model: jobs ---- */

function onJob(j) {
	if (!j || j.id == null) return;
	// The history gets each job's end once, from the stream only: the
	// end in the appliance's time mapped to the page's.
	if (RANK[j.state] === 2 && M.off != null && !M.charted.has(j.id) &&
	    typeof j.submitted_us === 'number' && typeof j.elapsed_us === 'number') {
		M.charted.add(j.id);
		if (M.charted.size > 2 * (INFLIGHT_MAX + HISTORY_MAX))
			M.charted.delete(M.charted.values().next().value);
		M.hist.finished((j.submitted_us + j.elapsed_us) / 1000 + M.off, j.elapsed_us);
	}
	putJob(j);
	trimJobs();
	reconcile();
	schedule();
}

/* Keeps the furthest state seen for a job: an event may overtake an answer. */
function putJob(j, force) {
	const o = M.jobs.get(j.id);
	if (o && !o.stale && !force && (RANK[o.state] || 0) > (RANK[j.state] || 0)) return false;
	j.at = performance.now();
	M.jobs.set(j.id, j);
	if (j.id === M.mine && RANK[j.state] === 2 && (!o || RANK[o.state] !== 2))
		say(j.state === 'done' ? 'Job ' + j.id + ' done: result ' + fmtN(j.result) + ' in ' +
			fmtUs(j.elapsed_us) + '.' : 'Job ' + j.id + ' was cancelled.', j.state === 'done' ? 'ok' : '');
	return true;
}

function trimJobs() {
	const fin = [...M.jobs.values()].filter(j => !(RANK[j.state] < 2)).sort((a, b) => b.id - a.id);
	for (const j of fin.slice(RECENT * 2)) M.jobs.delete(j.id);
}

function inFlight() {
	let n = 0;
	for (const j of M.jobs.values()) if (RANK[j.state] < 2) n++;
	return n;
}

/* The status document counts the jobs in flight too. Apart for a moment
 * is normal (a job event and the next document are up to 250 ms apart);
 * apart for APART_MS means we missed a change (one between the list and
 * the stream's start): list every job the appliance holds, once for
 * that pair of counts. No request while they agree. */
function reconcile() {
	const want = M.st && M.st.jobs ? M.st.jobs.running : null, have = inFlight();
	if (M.conn !== 'live' || want == null || want === have) { M.apart = 0; return; }
	const now = performance.now(), key = want + '/' + have;
	if (!M.apart) M.apart = now;
	else if (now - M.apart >= APART_MS && M.relisted !== key) {
		M.relisted = key;
		fetchJobs(INFLIGHT_MAX + HISTORY_MAX);
	}
}

/* ---- views: everything from M ---- */

/* What the views show, worked out once per frame. */
function derive() {
	const t = nowUs(), all = [...M.jobs.values()].sort((a, b) => b.id - a.id);
	const v = { t, fly: all.filter(j => RANK[j.state] < 2), fin: all.filter(j => !(RANK[j.state] < 2)),
		u: [], nb: 0, ni: 0, nh: 0, sum: 0, tasks: 0, chunks: null };
	v.queued = v.fly.filter(j => j.state === 'queued').length;
	const h = M.win[0], dt = h ? t - h.t : 0;
	M.cores.forEach((k, i) => {
		// Too short a window to say: the state itself.
		const u = dt < 2e5 || !h.b ? (k.state === 'busy' ? 1 : 0) : clamp((busyAt(k, t) - h.b[i]) / dt);
		v.u.push(u);
		v.sum += u;
		if (k.state === 'busy') v.nb++; else if (k.state === 'idle') v.ni++; else v.nh++;
		if (k.c) {
			v.tasks += k.c.tasks_done;
			if (k.c.chunks_done != null) v.chunks = (v.chunks || 0) + k.c.chunks_done;
		}
	});
	return v;
}

function render() {
	frame = 0;
	const v = derive();
	renderSummary(v);
	renderCores(v);
	renderJobs(v);
	renderCounters(v);
	renderCharts(v);
}

function renderSummary(v) {
	const s = M.st, n = M.cores.length;
	setText($('s-addr'), (s && (s.address || (s.net && s.net.address))) || location.host);
	setText($('s-fly'), fmtN(v.fly.length));
	setText($('s-fly2'), [[v.queued, ' queued'], [v.fly.length - v.queued, ' running']]
		.filter(x => x[0]).map(x => fmtN(x[0]) + x[1]).join(', '));
	if (!s) return;
	const up = $('s-up'), q = s.queue || {};
	setText(up, fmtUp(v.t));
	up.dataset.us = Math.floor(v.t);
	setText($('s-cores'), plural(n, 'core'));
	setText($('s-cores2'), fmtN(v.nb) + ' busy');
	setText($('s-util'), n ? pct(v.sum / n) : '\u2013');
	setText($('s-queue'), plural(q.depth, 'task'));
	setText($('s-qcap'), q.capacity != null ? 'of ' + fmtN(q.capacity) : '');
	$('s-qm').value = q.capacity ? q.depth / q.capacity : 0;
	const pol = typeof s.sched === 'string' ? s.sched : '', sc = $('c-sched');
	sc.hidden = !pol;
	setText($('s-sched'), pol);
	if (sc.title !== (SCHED[pol] || '')) sc.title = SCHED[pol] || '';
}

function buildCores(n, want) {
	const box = $('cores');
	box.textContent = '';
	box.className = want === 'hm' ? 'hm' + (n > 256 ? ' big' : '') : 'tiles';
	if (want === 'hm') box.setAttribute('role', 'img'); else box.removeAttribute('role');
	tiles = []; mode = want;
	for (let i = 0; i < n; i++) {
		const k = {};
		if (want === 'hm') {
			k.el = document.createElement('i');
		} else {
			k.el = document.createElement('div');
			k.el.innerHTML = '<b></b> <span class="n"></span><span class="st"></span>' +
				'<div class="bar"><i></i></div><div><span class="u"></span> busy, ' +
				'<span class="t"></span></div><div class="n hw"></div>';
			for (const f of ['st', 'u', 't', 'hw']) k[f] = k.el.querySelector('.' + f);
			k.bar = k.el.querySelector('.bar i');
		}
		box.appendChild(k.el);
		tiles.push(k);
	}
	setText($('c-leg'), want === 'hm' ? '\u00b7 dark fill: share of the last 5 s spent on tasks (hover a square for details)' : '');
}

function renderCores(v) {
	const n = M.cores.length, want = n > TILE_MAX ? 'hm' : 'tiles', hm = want === 'hm';
	if (n !== tiles.length || want !== mode) buildCores(n, want);
	M.cores.forEach((k, i) => {
		const c = k.c, u = v.u[i], el = tiles[i];
		if (!c) return;
		const cls = (hm ? '' : 'tile ') + k.state;
		if (el.el.className !== cls) el.el.className = cls;
		const info = 'core ' + c.id + ' (' + c.role + ', APIC ' + c.apic_id + '): ' + k.state +
			', ' + pct(u) + ' busy over 5 s, ' + plural(c.tasks_done, 'task') +
			(c.chunks_done != null ? ', ' + plural(c.chunks_done, 'chunk') : '') + ', ' +
			plural(c.halts, 'halt') + ', ' + plural(c.wakes, 'wake');
		if (el.el.title !== info) el.el.title = info;
		if (hm) {
			el.el.style.setProperty('--u', Math.round(u * 100) + '%');
			return;
		}
		setText(el.el.firstChild, String(c.id));
		setText(el.el.children[1], c.role);
		setText(el.st, k.state);
		setText(el.u, pct(u));
		setText(el.t, plural(c.tasks_done, 'task'));
		setText(el.hw, plural(c.halts, 'halt') + ', ' + plural(c.wakes, 'wake'));
		el.bar.style.width = pct(u);
	});
	if (!n) return;
	setText($('c-tot'), plural(n, 'core') + ' online: ' + fmtN(v.nb) + ' busy, ' + fmtN(v.ni) + ' idle, ' +
		fmtN(v.nh) + ' halted \u00b7 ' + plural(v.tasks, 'task') +
		(v.chunks != null ? ', ' + plural(v.chunks, 'chunk') : '') + ' done');
	if (hm) $('cores').setAttribute('aria-label', 'heat map of ' + plural(n, 'core') + ': ' + v.nb +
		' busy, ' + v.ni + ' idle, ' + v.nh + ' halted');
}

function renderCounters() {
	const s = M.st;
	if (!s) return;
	const j = s.jobs || {}, n = s.net, m = s.memory, p = s.smp, l = s.lwip;
	const card = (title, kv) => '<div><dt>' + title + '</dt>' + kv.filter(x => x[1] != null)
		.map(x => '<dd class="kv"><span>' + x[0] + '</span>' + esc(x[1]) + '</dd>').join('') + '</div>';
	// Jobs in flight: the summary card's figure, not the document's (see reconcile).
	let h = card('Jobs', [['accepted', fmtN(j.accepted)], ['in flight', fmtN(inFlight())],
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
		['parked', fmtN(p.parked)], ['scheduler', typeof s.sched === 'string' ? s.sched : null],
		['max serve gap', s.bsp ? fmtUs(s.bsp.serve_gap_max_us) : null]]);
	const c = $('cnt');
	if (c._h !== h) { c.innerHTML = h; c._h = h; }
}

function elapsed(j) {
	const e = j.elapsed_us;
	return RANK[j.state] < 2 && M.conn !== 'down' && e != null ? e + (performance.now() - j.at) * 1000 : e;
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

function renderJobs(v) {
	const had = document.activeElement, cx = had && had.classList.contains('cx');
	for (const id of rows.keys()) if (!M.jobs.has(id)) rows.delete(id);
	fill($('t-fly'), v.fly, 'No job in flight.');
	fill($('t-done'), v.fin.slice(0, RECENT), 'No finished job yet.');
	setText($('n-fly'), v.fly.length ? '(' + v.fly.length + ')' : '');
	if (cx && !had.isConnected)     // its job ended under a keyboard user: stay in the jobs
		($('t-fly').querySelector('button') || $('f-go')).focus();
}

/* ---- views: the charts ---- */

const CH = {
	busy: { color: '#b43c0b' }, queue: { color: '#6d28d9' }, jobs: { color: '#166534' },
	lat: { color: '#1d5fb8' },
};

function last(a) {
	for (let i = a.length - 1; i >= 0; i--) if (a[i] != null) return { i, v: a[i] };
	return null;
}

function chart(id, o, caption, label, total) {
	const cv = $(id);
	Charts.draw(cv, o);
	if (total != null) cv.dataset.total = total;
	setText($(id + '-k'), caption);
	const al = label + ': ' + caption;
	if (cv.getAttribute('aria-label') !== al) cv.setAttribute('aria-label', al);
}

function renderCharts() {
	const h = M.hist.view(performance.now()), n = M.cores.length || h.n;
	const peak = a => a.reduce((m, x) => x != null && x > m ? x : m, 0);
	const b = last(h.busy);
	chart('ch-busy', { view: h, axis: Charts.linAxis(n, true), unit: 'cores',
		series: [{ key: 'busy', kind: 'area', color: CH.busy.color }] },
	b ? fmtCores(b.v) + ' of ' + plural(n, 'core') + ' now, ' + fmtCores(h.busyCoreS) + ' core-seconds in all' :
		'no figures yet', 'Busy cores, last 10 minutes', h.busyCoreS);
	const q = M.st && M.st.queue ? M.st.queue.depth : null;
	chart('ch-queue', { view: h, axis: Charts.linAxis(peak(h.queue) || 1, false, true), unit: 'tasks',
		series: [{ key: 'queue', kind: 'area', color: CH.queue.color }] },
	q != null ? plural(q, 'task') + ' now, peak ' + fmtN(peak(h.queue)) : 'no figures yet',
	'Queue depth, last 10 minutes');
	chart('ch-jobs', { view: h, axis: Charts.linAxis(peak(h.jobs) || 1, false, true), unit: 'jobs/s',
		series: [{ key: 'jobs', kind: 'bars', color: CH.jobs.color }] },
	plural(h.finished, 'job') + ' in all', 'Jobs finished per second, last 10 minutes', h.finished);
	let lo = Infinity, hi = 0;
	h.median.forEach(x => { if (x != null && x < lo) lo = x; });
	h.max.forEach(x => { if (x != null && x > hi) hi = x; });
	const l = last(h.max);
	chart('ch-lat', { view: h, axis: Charts.logAxis(hi ? lo : 1000, hi || 1e6), unit: 'latency',
		series: [{ key: 'median', kind: 'dots', color: CH.lat.color, hollow: true, r: 3 },
			{ key: 'max', kind: 'dots', color: CH.lat.color }], range: ['median', 'max'] },
	l ? 'last: median ' + fmtUs(h.median[l.i]) + ', max ' + fmtUs(l.v) : 'no job ended yet',
	'Job latency (submission to end), median and max per second, last 10 minutes');
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
		M.mine = r.data.id;
		say('Job ' + M.mine + ' accepted.', 'ok');
		putJob(r.data);
		schedule();
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
	schedule();
}

/* Once a second: the charts move on with time (no request: while
 * connected, no event means nothing changed), utilisation decays while
 * idle, running jobs' elapsed grows. */
setInterval(() => {
	if (M.st && !M.gap && (M.conn === 'live' || M.conn === 'poll')) {
		M.hist.advance(performance.now(), nBusySeen(), M.conn === 'live');
		sampleWin(nowUs());
		reconcile();
	}
	schedule();
}, 1000);

schedule();
fetchJobs();
connect();
})();
