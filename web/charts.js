/* charts.js - the dashboard's history (README "The dashboard"): the last
 * ten minutes in one-second buckets of busy cores, queue depth, jobs
 * finished and their latency, filled by app.js from the event stream, and
 * drawn on canvas. No charting library: four small charts need axes, an
 * area, bars and dots, which is less code than a library's glue, and
 * there is nothing to fetch, embed or keep up to date.
 *
 * Times are the page's clock in ms (performance.now()), so the history
 * outlives a reconnect and even a restart of the appliance. Memory is
 * fixed: SPAN buckets, each with at most LAT_KEEP sampled latencies. */
'use strict';
window.Charts = (() => {
const BUCKET = 1000;    // ms one bucket covers
const SPAN = 600;       // buckets kept: ten minutes
const LAT_KEEP = 63;    // latencies sampled per bucket for its median (the max is exact)
const EPS = 1e-6;

function clear(s, k) {
	s.k = k;
	s.busy = 0;         // core-ms of busy time credited to the bucket
	s.cov = 0;          // ms of the bucket that busy time was credited for
	s.q = -1;           // largest queue depth seen in it, -1: unknown
	s.jk = false;       // the job events of this bucket were seen (a live stream)
	s.done = 0;         // jobs that ended in it (done or cancelled)
	s.latN = 0;         // of which latencies were offered
	s.latMax = 0;       // us
	s.lat = [];         // a uniform sample of their latencies, us
}

/* The ten minutes. app.js reports each status document (status), the
 * passing of time while connected (advance) and each job that ended
 * (finished); view() gives what the charts draw.
 *
 * Busy time: app.js counts each core's busy time as busy_us plus, for a
 * core seen busy, the time since it was seen so (busy_us grows when a
 * task, or a chunk of one, ends). Between documents the cores seen busy
 * are credited at their count; each document then corrects the total to
 * what it says (a task that ended, one that began before it was seen).
 * A correction that would put a bucket above every core busy, or below
 * none, spills into the buckets before it, so nothing is lost or made up:
 * over the window the total is the sum of busy_us. */
class History {
	constructor() {
		this.s = Array.from({ length: SPAN }, () => ({ k: -Infinity }));
		this.t = null;      // page ms up to which busy time is credited; null: not started
		this.S = 0;         // core-ms credited up to this.t, on app.js's count
		this.n = 1;         // cores online
		this.depth = null;  // queue depth at this.t
	}

	/* Bucket k, emptied if it held an older one; null if k is older
	 * than what the window keeps. */
	slot(k) {
		const s = this.s[((k % SPAN) + SPAN) % SPAN];
		if (s.k === k) return s;
		if (s.k > k) return null;
		clear(s, k);
		return s;
	}

	get(k) {
		const s = this.s[((k % SPAN) + SPAN) % SPAN];
		return s.k === k ? s : null;
	}

	/* Calls f(slot, ms of it in [t0, t1)) for each bucket of the range
	 * that the window still keeps. */
	each(t0, t1, f) {
		const lo = Math.max(t0, t1 - SPAN * BUCKET);
		for (let k = Math.floor(lo / BUCKET); k * BUCKET < t1; k++) {
			const a = Math.max(lo, k * BUCKET), b = Math.min(t1, (k + 1) * BUCKET), s = this.slot(k);
			if (s && b > a) f(s, b - a);
		}
	}

	/* coreMs of busy time spread evenly over [t0, t1). */
	credit(t0, t1, coreMs) {
		if (!(t1 > t0)) return;
		const rate = coreMs / (t1 - t0);
		this.each(t0, t1, (s, ms) => { s.cov += ms; s.busy += rate * ms; });
	}

	/* Adds d core-ms at the latest credited bucket; what would pass every
	 * core or go below zero moves to the bucket before. */
	correct(d) {
		const last = Math.floor((this.t - EPS) / BUCKET);
		for (let k = last; Math.abs(d) > EPS && k > last - SPAN; k--) {
			const s = this.get(k);
			if (!s || !s.cov) continue;
			const v = s.busy + d, cap = this.n * s.cov;
			s.busy = v > cap ? cap : v < 0 ? 0 : v;
			d = v - s.busy;
		}
	}

	mark(t0, t1, jobs) {
		const q = this.depth;
		this.each(t0, t1, s => {
			if (q != null && q > s.q) s.q = q;
			if (jobs) s.jk = true;
		});
	}

	/* Time passed up to now with nBusy cores seen busy, the queue as it
	 * was; jobs: the job events of that time were seen. */
	advance(now, nBusy, jobs) {
		if (this.t == null || !(now > this.t)) return;
		const d = nBusy * (now - this.t);
		this.credit(this.t, now, d);
		this.S += d;
		this.mark(this.t, now, jobs);
		this.t = now;
	}

	/* A status document of page time t: S core-ms of busy time counted
	 * so far, nBusy cores seen busy before it, depth tasks queued, n cores.
	 * how: 'next' follows the one before; 'gap' follows a disconnect from
	 * the same appliance (its busy time is spread over the gap, the rest
	 * of the gap stays unknown); 'start' is the first of an appliance. */
	status(t, S, nBusy, depth, n, how, jobs) {
		this.n = Math.max(1, n);
		if (how === 'start' || this.t == null) {
			this.t = t;
		} else if (how === 'gap') {
			if (t > this.t) {
				this.credit(this.t, t, Math.max(0, S - this.S));
				this.t = t;
			} else this.correct(S - this.S);
		} else {
			this.advance(t, nBusy, jobs);
			this.correct(S - this.S);
		}
		this.S = S;
		this.depth = depth;
		this.mark(Math.min(t, this.t), Math.max(t, this.t) + EPS, false);
	}

	/* A job ended at page time t after us microseconds. */
	finished(t, us) {
		const s = this.slot(Math.floor(t / BUCKET));
		if (!s) return;
		s.jk = true;
		s.done++;
		s.latN++;
		if (us > s.latMax) s.latMax = us;
		if (s.lat.length < LAT_KEEP) s.lat.push(us);
		else {
			const i = Math.floor(Math.random() * s.latN);
			if (i < LAT_KEEP) s.lat[i] = us;
		}
	}

	/* The window ending now: per bucket, oldest first, each value or null
	 * where unknown; totals over the window. */
	view(now) {
		const end = Math.floor(now / BUCKET), v = { busy: [], queue: [], jobs: [], median: [], max: [],
			end: (end + 1) * BUCKET, busyCoreS: 0, finished: 0, n: this.n };
		for (let k = end - SPAN + 1; k <= end; k++) {
			const s = this.get(k);
			v.busy.push(s && s.cov > 0 ? s.busy / s.cov : null);
			v.queue.push(s && s.q >= 0 ? s.q : null);
			v.jobs.push(s && s.jk ? s.done * 1000 / BUCKET : null);
			v.median.push(s && s.latN ? median(s.lat) : null);
			v.max.push(s && s.latN ? s.latMax : null);
			if (s) { v.busyCoreS += s.busy / 1000; v.finished += s.done; }
		}
		return v;
	}
}

function median(a) {
	const b = a.slice().sort((x, y) => x - y), m = b.length >> 1;
	return b.length & 1 ? b[m] : (b[m - 1] + b[m]) / 2;
}

/* ---- drawing ---- */

const fmtNum = v => Number(v.toPrecision(6)).toLocaleString('en-US', { maximumFractionDigits: 2 });

function fmtTickUs(us) {
	if (us >= 1e6) return fmtNum(us / 1e6) + ' s';
	if (us >= 1e3) return fmtNum(us / 1e3) + ' ms';
	return fmtNum(us) + ' \u00b5s';
}

/* The smallest step of 1, 2, 2.5 or 5 times a power of ten that covers
 * max in at most n steps; whole: a whole number. */
function niceStep(max, n, whole) {
	for (let p = 10 ** Math.floor(Math.log10(max / n)); ; p *= 10)
		for (const m of [1, 2, 2.5, 5]) {
			const st = m * p;
			if (whole && (st < 1 || !Number.isInteger(st))) continue;
			if (Math.ceil(max / st - EPS) <= n) return st;
		}
}

/* Linear axis 0..top with at most 6 ticks; fixed: top is max itself (all
 * cores) and is labelled, else max rounded up to a step. */
function linAxis(max, fixed, whole) {
	if (!(max > 0)) max = 1;
	const step = niceStep(max, 5, whole), top = fixed ? max : Math.ceil(max / step - EPS) * step;
	const ticks = [];
	for (let i = 0, v = 0; v <= top + EPS * step; v = ++i * step)
		if (!fixed || v < top - 0.35 * step) ticks.push(v);
	if (fixed) ticks.push(top);
	return { top, ticks, y: v => v / top, label: fmtNum };
}

/* Log axis over whole decades around [lo, hi] (microseconds); 2 and 5
 * between decades when it spans two or fewer. */
function logAxis(lo, hi) {
	let a = Math.floor(Math.log10(Math.max(1, lo))), b = Math.ceil(Math.log10(Math.max(1, hi)));
	if (b <= a) b = a + 1;
	const ticks = [];
	for (let e = a; e <= b; e++) {
		ticks.push(10 ** e);
		if (b - a <= 2 && e < b) ticks.push(2 * 10 ** e, 5 * 10 ** e);
	}
	return { ticks, y: v => (Math.log10(Math.max(v, 1)) - a) / (b - a), label: fmtTickUs };
}

const FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
const C = { axis: '#4a5261', grid: '#e3e6eb', gap: '#eef0f3', text: '#4a5261' };

/* Draws one chart of a view on canvas cv.
 * o: {view, axis (from linAxis/logAxis), unit, series: [{key, kind:
 * 'area'|'bars'|'dots', color}], range: [key, key] joined by a line}.
 * Sets cv.dataset.points and .peak (JSON, per series: buckets drawn and
 * their largest value) and .ticks (the y labels) for tests and tools. */
function draw(cv, o) {
	const dpr = window.devicePixelRatio || 1, w = cv.clientWidth, h = cv.clientHeight;
	if (!w || !h) return;
	if (cv.width !== Math.round(w * dpr) || cv.height !== Math.round(h * dpr)) {
		cv.width = Math.round(w * dpr);
		cv.height = Math.round(h * dpr);
	}
	const g = cv.getContext('2d');
	g.setTransform(dpr, 0, 0, dpr, 0, 0);
	g.clearRect(0, 0, w, h);
	g.font = FONT;
	const ax = o.axis, v = o.view, nb = v.busy.length;
	const labels = ax.ticks.map(ax.label);
	const L = Math.ceil(Math.max(...labels.map(s => g.measureText(s).width), g.measureText(o.unit).width / 2)) + 10;
	const T = 20, R = 14, B = 18, pw = w - L - R, ph = h - T - B;
	const X = i => L + pw * i / nb, Y = val => T + ph * (1 - Math.min(1, Math.max(0, ax.y(val))));

	// Unknown stretches after the first known bucket: a disconnect.
	const known = i => o.series.some(s => v[s.key][i] != null) || v.busy[i] != null || v.queue[i] != null;
	let first = -1;
	for (let i = 0; i < nb; i++) if (known(i)) { first = i; break; }
	g.fillStyle = C.gap;
	if (first >= 0)
		for (let i = first; i < nb; i++) if (!known(i)) g.fillRect(X(i), T, pw / nb + 0.5, ph);

	// Grid and y labels.
	g.textAlign = 'right';
	g.textBaseline = 'middle';
	g.lineWidth = 1;
	ax.ticks.forEach((t, i) => {
		const y = Math.round(Y(t)) + 0.5;
		g.strokeStyle = C.grid;
		g.beginPath(); g.moveTo(L, y); g.lineTo(L + pw, y); g.stroke();
		g.fillStyle = C.text;
		g.fillText(labels[i], L - 5, y);
	});
	g.textAlign = 'left';
	g.textBaseline = 'alphabetic';
	g.fillText(o.unit, 2, 11);

	// x: minutes before now, every two minutes.
	g.textAlign = 'center';
	g.textBaseline = 'top';
	for (let m = 0; m <= SPAN * BUCKET / 60000; m += 2) {
		const x = Math.round(L + pw * (1 - m * 60000 / (SPAN * BUCKET))) + 0.5;
		g.strokeStyle = C.grid;
		g.beginPath(); g.moveTo(x, T); g.lineTo(x, T + ph); g.stroke();
		g.fillStyle = C.text;
		const s = m ? '\u2212' + m + ' min' : 'now';
		g.textAlign = m === 0 ? 'right' : m * 60000 === SPAN * BUCKET ? 'left' : 'center';
		g.fillText(s, m === 0 ? x + R - 2 : m * 60000 === SPAN * BUCKET ? x - 4 : x, T + ph + 4);
	}

	// Data.
	const points = {}, peak = {}, bw = pw / nb;
	for (const s of o.series) {
		const a = v[s.key];
		let np = 0, pk = null;
		g.fillStyle = s.color;
		g.strokeStyle = s.color;
		if (s.kind === 'area') {
			g.globalAlpha = 0.35;
			for (let i = 0; i < nb; i++) if (a[i] != null) g.fillRect(X(i), Y(a[i]), bw + 0.3, T + ph - Y(a[i]));
			g.globalAlpha = 1;
			g.lineWidth = 1.5;
			g.beginPath();
			let on = false;
			for (let i = 0; i < nb; i++) {
				if (a[i] == null) { on = false; continue; }
				const y = Y(a[i]);
				if (!on) g.moveTo(X(i), y); else g.lineTo(X(i), y);
				g.lineTo(X(i + 1), y);
				on = true;
			}
			g.stroke();
		} else if (s.kind === 'bars') {
			for (let i = 0; i < nb; i++)
				if (a[i]) g.fillRect(X(i), Y(a[i]), Math.max(1.5, bw), T + ph - Y(a[i]));
		} else {
			if (o.range && s.key === o.range[1]) {
				const lo = v[o.range[0]];
				g.lineWidth = 1;
				g.beginPath();
				for (let i = 0; i < nb; i++)
					if (a[i] != null && lo[i] != null) { g.moveTo(X(i + 0.5), Y(lo[i])); g.lineTo(X(i + 0.5), Y(a[i])); }
				g.stroke();
			}
			for (let i = 0; i < nb; i++)
				if (a[i] != null) {
					g.beginPath();
					g.arc(X(i + 0.5), Y(a[i]), s.r || 2.5, 0, 2 * Math.PI);
					s.hollow ? g.stroke() : g.fill();
				}
		}
		for (let i = 0; i < nb; i++)
			if (a[i] != null) {
				np++;
				if (pk == null || a[i] > pk) pk = a[i];
			}
		points[s.key] = np;
		peak[s.key] = pk;
	}

	// Axes.
	g.strokeStyle = C.axis;
	g.lineWidth = 1;
	g.beginPath();
	g.moveTo(L + 0.5, T); g.lineTo(L + 0.5, T + ph + 0.5); g.lineTo(L + pw, T + ph + 0.5);
	g.stroke();

	cv.dataset.points = JSON.stringify(points);
	cv.dataset.peak = JSON.stringify(peak);
	cv.dataset.ticks = JSON.stringify(labels);
}

return { History, draw, linAxis, logAxis, fmtTickUs, BUCKET, SPAN };
})();
