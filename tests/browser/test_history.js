#!/usr/bin/env node
/* test_history.js - web/charts.js's History (the charts' ten minutes)
 * under a fake clock, in node: no browser, no appliance. Simulated cores
 * credit busy_us when a task ends, as the appliance does; status documents
 * come every quarter second while work is under way and not at all while
 * idle, as /api/events sends them; the busy time is estimated as app.js
 * does (busy_us plus the time since a core was seen busy). Run by
 * tests/qemu/test_dashboard.py (test_dashboard_history_model); exits
 * non-zero with a message on the first failed check. */
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const box = { window: {}, Math, JSON, Number, Array, Infinity };
vm.runInNewContext(fs.readFileSync(path.join(__dirname, '..', '..', 'web', 'charts.js'), 'utf8'), box);
const { History, linAxis, logAxis, fmtTickUs, BUCKET, SPAN } = box.window.Charts;

let checks = 0;
function ok(cond, msg) {
	checks++;
	if (!cond) { console.error('FAIL: ' + msg); process.exit(1); }
}
const near = (a, b, tol) => Math.abs(a - b) <= tol;

/* A simulated appliance: tasks [{core, start, end}] in ms; the status
 * document at t as app.js reads it. */
function sim(n, tasks) {
	const seen = Array.from({ length: n }, () => ({ busy: 0, tasks: 0, since: null, state: 'idle' }));
	return {
		active: t => tasks.some(k => k.start <= t && t < k.end),
		// Updates the page's per-core estimate; answers [S, nBusy before].
		doc(t) {
			const nBusy = seen.filter(c => c.since != null).length;
			let S = 0;
			seen.forEach((c, i) => {
				const mine = tasks.filter(k => k.core === i);
				const busy = mine.filter(k => k.end <= t).reduce((s, k) => s + k.end - k.start, 0);
				const done = mine.filter(k => k.end <= t).length;
				const on = mine.some(k => k.start <= t && t < k.end);
				if (!on) c.since = null;
				else if (c.state !== 'busy' || done !== c.tasks || busy !== c.busy) c.since = t;
				c.state = on ? 'busy' : 'idle'; c.busy = busy; c.tasks = done;
				S += busy + (c.since != null ? t - c.since : 0);
			});
			return [S, nBusy];
		},
		seen: () => seen.filter(c => c.since != null).length,     // cores the page counts busy
		// Busy core-ms of the truth in [a, b).
		truth: (a, b) => tasks.reduce((s, k) => s + Math.max(0, Math.min(b, k.end) - Math.max(a, k.start)), 0),
		total: () => tasks.reduce((s, k) => s + k.end - k.start, 0),
	};
}

/* Drives h over [t0, t1): a document every 250 ms while active (and one at
 * each change of activity), the page's once-a-second timer otherwise. */
function run(h, s, n, t0, t1, depth, how) {
	let next = t0, first = true;
	for (let t = t0; t < t1; t += 10) {
		const act = s.active(t);
		if (first || (act && t >= next) || act !== s.active(t - 10)) {
			const [S, nb] = s.doc(t);
			h.status(t, S, nb, depth(t), n, first ? how : 'next', true);
			next = t + 250;
			first = false;
		} else if (t % 1000 === 0) h.advance(t, s.seen(), true);
	}
}

function check(name, h, s, n, from, to) {
	const v = h.view(to);
	const start = v.end - SPAN * BUCKET;
	let sum = 0, worst = 0;
	v.busy.forEach((b, i) => {
		const a = start + i * BUCKET;
		if (b == null) return;
		ok(b >= -1e-9 && b <= n + 1e-9, name + ': bucket ' + i + ' has ' + b + ' busy cores of ' + n);
		if (a >= from && a + BUCKET <= to) worst = Math.max(worst, Math.abs(b - s.truth(a, a + BUCKET) / BUCKET));
		sum += b;
	});
	return { v, worst, sum };
}

// 1. One core, one 5.2 s task first seen up to 250 ms late: the total is
// exact, no bucket above one core, each within a quarter core of the truth.
{
	const s = sim(1, [{ core: 0, start: 101130, end: 106330 }]);
	const h = new History();
	run(h, s, 1, 100000, 130000, () => 0, 'start');
	const r = check('one task', h, s, 1, 100000, 129000);
	ok(near(r.v.busyCoreS * 1000, s.total(), 1e-6), 'one task: ' + r.v.busyCoreS + ' core-s, truth ' + s.total() / 1000);
	ok(r.worst <= 0.25 + 1e-9, 'one task: a bucket is ' + r.worst + ' cores off');
	ok(r.v.busy.filter(x => x != null).length === 29, 'one task: 29 s known (the timer reached 129 s), not ' + r.v.busy.filter(x => x != null).length);
}

// 2. 4 cores, short and long tasks, several per core between documents:
// the total is still exact and no bucket passes 4 cores.
{
	const tasks = [];
	for (let c = 0; c < 4; c++)
		for (let t = 200000 + c * 37, k = 0; k < 40; k++) {
			const d = 30 + ((k * 7919 + c * 104729) % 700);
			tasks.push({ core: c, start: t, end: t + d });
			t += d + (k % 3) * 5;
		}
	const s = sim(4, tasks);
	const h = new History();
	run(h, s, 4, 199000, 240000, () => 3, 'start');
	const r = check('short tasks', h, s, 4, 199000, 239000);
	ok(near(r.v.busyCoreS * 1000, s.total(), 1e-6), 'short tasks: ' + r.v.busyCoreS + ' core-s, truth ' + s.total() / 1000);
	ok(r.worst <= 4 * 0.25 + 1e-9, 'short tasks: a bucket is ' + r.worst + ' cores off');
	ok(Math.max(...r.v.queue.filter(x => x != null)) === 3, 'short tasks: the queue depth');
}

// 3. A spill: a task that began 900 ms before it was first seen ends in a
// bucket the core was busy all through: the correction goes back to the
// bucket where it began, never above one core.
{
	const h = new History();
	h.status(10000, 0, 0, 0, 1, 'start', true);
	h.status(10900, 0, 0, 0, 1, 'next', true);          // busy since 10.0 s, not seen yet
	h.status(11000, 0, 0, 0, 1, 'next', true);          // seen busy at 11.0 s
	for (let t = 11250; t < 13000; t += 250) h.status(t, t - 11000, 1, 0, 1, 'next', true);
	h.status(13000, 3000, 1, 0, 1, 'next', true);       // ended at 13.0 s: 3 s of busy_us
	const v = h.view(13500), i = v.busy.length - 1;
	ok(near(v.busy[i - 3], 1, 1e-9) && near(v.busy[i - 2], 1, 1e-9) && near(v.busy[i - 1], 1, 1e-9),
		'spill: buckets ' + JSON.stringify(v.busy.slice(i - 3, i)) + ' should be full');
	ok(near(v.busyCoreS, 3, 1e-9), 'spill: ' + v.busyCoreS + ' core-s, not 3');
}

// 4. A disconnect from the same appliance: its busy time spread over the
// gap, the queue and the jobs unknown there; a restart keeps the history
// and leaves its gap unknown.
{
	const h = new History();
	h.status(50000, 0, 0, 2, 2, 'start', true);
	h.advance(51000, 0, true);
	h.finished(50500, 123456);
	h.status(61000, 8000, 0, 1, 2, 'gap', true);        // 10 s away, 8 core-s of busy_us
	let v = h.view(61500), i = v.busy.length - 1;
	ok(v.busy.slice(i - 10, i).every(b => near(b, 0.8, 1e-9)), 'gap: ' + JSON.stringify(v.busy.slice(i - 10, i)));
	ok(v.queue.slice(i - 9, i).every(q => q == null) && v.jobs.slice(i - 9, i).every(j => j == null),
		'gap: queue and jobs should be unknown in it');
	ok(v.queue[i - 11] === 2 && v.queue[i] === 1, 'gap: the queue before and after it');
	h.status(70000, 0, 0, 0, 4, 'start', true);         // another appliance: its own counters
	h.advance(72000, 4, true);
	v = h.view(72000); i = v.busy.length - 1;
	ok(v.busy.slice(i - 9, i - 2).every(b => b == null), 'restart: the gap stays unknown');
	ok(near(v.busy[i - 1], 4, 1e-9) && near(v.busyCoreS, 8 + 8, 1e-9), 'restart: ' + v.busyCoreS + ' core-s');
	ok(v.finished === 1 && v.max[i - 22] === 123456, 'restart: the job before it is kept');
}

// 5. Latencies: the median of a bucket, its exact max, and a bounded
// sample however many jobs end in it.
{
	const h = new History();
	h.status(0, 0, 0, 0, 1, 'start', true);
	for (const us of [5, 1, 3]) h.finished(500, us);
	h.finished(1500, 10); h.finished(1600, 30);
	for (let k = 0; k < 100000; k++) h.finished(2500, 1000 + k);
	h.advance(3000, 0, true);
	const v = h.view(2999), i = v.busy.length - 1;
	ok(v.median[i - 2] === 3 && v.max[i - 2] === 5, 'latency: median/max ' + v.median[i - 2] + '/' + v.max[i - 2]);
	ok(v.median[i - 1] === 20 && v.max[i - 1] === 30, 'latency: even count');
	ok(v.max[i] === 100999 && v.jobs[i] === 100000 && v.median[i] > 1000 && v.median[i] < 100999,
		'latency: many in a bucket: max ' + v.max[i] + ', count ' + v.jobs[i]);
	const s = h.get(Math.floor(2500 / BUCKET));
	ok(s.lat.length <= 63, 'latency: ' + s.lat.length + ' samples kept');
}

// 6. Ten minutes and no more: a bucket eleven minutes old is gone, the
// slots are reused, an old time is refused.
{
	const h = new History();
	h.status(0, 0, 0, 5, 1, 'start', true);
	h.advance(1000, 1, true);
	for (let t = 2000; t <= 660000; t += 1000) h.advance(t, 0, true);
	const v = h.view(659999);
	ok(v.busyCoreS === 0 && v.busy.length === SPAN && h.s.length === SPAN, 'window: ' + v.busyCoreS + ' core-s');
	ok(v.busy.every(b => b === 0), 'window: every bucket known and idle');
	h.finished(1000, 5);
	ok(h.view(660000).finished === 0, 'window: a job older than ten minutes is not kept');
}

// 7. Axes: all cores labelled at the top, at 1 and at 1024; latency in
// decades with units.
{
	ok(JSON.stringify(linAxis(1, true).ticks) === JSON.stringify([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]), 'axis 1: ' + linAxis(1, true).ticks);
	ok(JSON.stringify(linAxis(1024, true).ticks) === '[0,250,500,750,1024]', 'axis 1024: ' + linAxis(1024, true).ticks);
	ok(JSON.stringify(linAxis(7, false, true).ticks) === '[0,2,4,6,8]', 'axis 7: ' + linAxis(7, false, true).ticks);
	ok(logAxis(1200, 1600000).ticks.map(fmtTickUs).join() === '1 ms,10 ms,100 ms,1 s,10 s', 'axis latency');
}

console.log('history: ' + checks + ' checks passed');
