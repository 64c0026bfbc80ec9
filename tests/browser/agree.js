/* agree.js - injected into the dashboard by tests/qemu/test_dashboard.py:
 * checks that the summary cards, the core tiles, the job tables, the
 * counters and the charts' captions say the same thing, and that a count
 * of one is singular. A MutationObserver runs the check after every batch
 * of changes to the page (each task that touched <main>), so a card
 * updated in one task and its table in another is caught in between.
 *
 * window.__agree = {checks, bad: [first disagreements], states: {job
 * state seen in the in-flight table: times}, check()}: check() runs it
 * now and answers the list of disagreements. */
(() => {
	const $ = id => document.getElementById(id);
	const txt = id => $(id).textContent;
	const int = s => (m => m ? Number(m[0].replace(/,/g, '')) : NaN)(/\d[\d,]*/.exec(s));

	function check() {
		const bad = [];
		const rows = [...document.querySelectorAll('#t-fly tbody tr[data-id]')];
		const states = rows.map(r => r.children[1].textContent);
		const q = states.filter(s => s === 'queued').length;
		const fly = txt('s-fly');
		if (fly !== '\u2013' || rows.length) {
			if (int(fly) !== rows.length)
				bad.push('card "jobs in flight" ' + fly + ', in-flight table ' + rows.length + ' rows');
			const want = [[q, ' queued'], [rows.length - q, ' running']].filter(x => x[0])
				.map(x => x[0].toLocaleString('en-US') + x[1]).join(', ');
			if (txt('s-fly2') !== want)
				bad.push('card says "' + txt('s-fly2') + '", table "' + want + '"');
			if (txt('n-fly') !== (rows.length ? '(' + rows.length + ')' : ''))
				bad.push('heading ' + txt('n-fly') + ', table ' + rows.length + ' rows');
		}
		const none = document.querySelector('#t-fly td.none');
		if (none && rows.length) bad.push('"' + none.textContent + '" above ' + rows.length + ' rows');
		for (const dd of document.querySelectorAll('#cnt dd.kv'))
			if (dd.firstChild.textContent === 'in flight' && int(dd.lastChild.textContent) !== rows.length)
				bad.push('counter "in flight" ' + dd.lastChild.textContent + ', table ' + rows.length);

		const tiles = [...document.querySelectorAll('#cores > *')];
		if (tiles.length && txt('s-cores') !== '\u2013') {
			const n = { busy: 0, idle: 0, halted: 0 };
			for (const t of tiles) for (const k in n) if (t.classList.contains(k)) n[k]++;
			const m = /^([\d,]+) cores? online: ([\d,]+) busy, ([\d,]+) idle, ([\d,]+) halted/.exec(txt('c-tot'));
			if (int(txt('s-cores')) !== tiles.length || int(txt('s-cores2')) !== n.busy)
				bad.push('card "' + txt('s-cores') + ' ' + txt('s-cores2') + '", ' + tiles.length +
					' tiles, ' + n.busy + ' busy');
			if (!m || int(m[1]) !== tiles.length || int(m[2]) !== n.busy || int(m[3]) !== n.idle ||
			    int(m[4]) !== n.halted)
				bad.push('"' + txt('c-tot') + '" against tiles ' + JSON.stringify(n));
		}
		const qk = /^([\d,]+) tasks? now/.exec(txt('ch-queue-k'));
		if (qk && int(qk[1]) !== int(txt('s-queue')))
			bad.push('queue card ' + txt('s-queue') + ', queue chart "' + txt('ch-queue-k') + '"');

		const main = document.querySelector('main').innerText;
		const one = /(^|[^\d,.])1 (tasks|jobs|cores|halts|wakes|chunks)\b(?!-)/.exec(main);
		if (one) bad.push('plural after 1: "' + one[0].trim() + '"');
		const many = /(^|[^\d,.])(0|[2-9]|[1-9][\d,]*\d) (task|job|core|halt|wake|chunk)\b(?!-)/.exec(main);
		if (many) bad.push('singular after ' + many[2] + ': "' + many[0].trim() + '"');
		return { bad, states };
	}

	const a = window.__agree = { checks: 0, bad: [], states: {}, check: () => check().bad };
	const run = () => {
		const r = check();
		a.checks++;
		for (const s of r.states) a.states[s] = (a.states[s] || 0) + 1;
		for (const b of r.bad) if (a.bad.length < 20) a.bad.push(b);
	};
	new MutationObserver(run).observe(document.querySelector('main'),
		{ subtree: true, childList: true, characterData: true, attributes: true });
	run();
})();
