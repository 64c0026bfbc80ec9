#!/usr/bin/env node
/* driver.js - drives Debian's chromium (headless, fresh profile, no
 * background networking) through the DevTools protocol with puppeteer-core,
 * for tests/qemu/test_dashboard.py. Reads one JSON command a line on stdin,
 * answers one JSON line on stdout: {"ok":true,"value":...} or
 * {"ok":false,"error":"..."}. Commands ({"cmd":..., args}):
 *
 *   open {url, width, height}    new page, listeners on, load url
 *   wait {expr, timeout}         until the page expression is truthy; its value
 *   eval {expr}                  the page expression's value
 *   click {sel} | type {sel, text} | select {sel, value} | press {key}
 *   shot {path, full}            PNG screenshot
 *   log {clear}                  {errors, foreign, console}: console errors,
 *                                page errors, failed loads (from the Log
 *                                domain), and requests to any other origin
 *   reload                       reload, answers [{url, status}] of the loads
 *   quit
 *
 * Environment: CHROMIUM (default /usr/bin/chromium). Never downloads a browser. */
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const puppeteer = require('puppeteer-core');

const exe = process.env.CHROMIUM || '/usr/bin/chromium';
let browser = null, page = null, origin = '', profile = '';
let errors = [], foreign = [], cons = [], loads = [];

function out(o) { process.stdout.write(JSON.stringify(o) + '\n'); }

async function launch() {
	profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dash-profile-'));
	browser = await puppeteer.launch({
		executablePath: exe,
		headless: true,
		userDataDir: profile,
		args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
			'--disable-sync', '--disable-default-apps', '--no-first-run', '--no-pings',
			'--disable-domain-reliability', '--disable-breakpad', '--disable-crash-reporter',
			'--metrics-recording-only', '--disable-client-side-phishing-detection',
			'--disable-features=Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider',
			'--disable-gpu', '--disable-dev-shm-usage', '--lang=en-US',
			'--font-render-hinting=none'],
		protocolTimeout: 60000,
	});
}

async function open(a) {
	if (page) await page.close();
	page = await browser.newPage();
	await page.setViewport({ width: a.width || 1280, height: a.height || 900 });
	origin = new URL(a.url).origin;
	page.on('console', m => {
		cons.push(m.type() + ': ' + m.text());
		// Failed loads come from the Log domain too (below, with their URL).
		if (m.type() === 'error' && !/^Failed to load resource/.test(m.text()))
			errors.push('console: ' + m.text());
	});
	page.on('pageerror', e => errors.push('pageerror: ' + (e && e.message || e)));
	page.on('request', r => {
		const u = r.url();
		if (!u.startsWith(origin + '/') && !u.startsWith('data:')) foreign.push(u);
	});
	page.on('response', r => loads.push({ url: r.url(), status: r.status() }));
	const cdp = await page.createCDPSession();
	await cdp.send('Log.enable');
	cdp.on('Log.entryAdded', ({ entry }) => {
		if (entry.level === 'error')
			errors.push('log/' + entry.source + ': ' + entry.text + (entry.url ? ' ' + entry.url : ''));
	});
	await page.goto(a.url, { waitUntil: 'load', timeout: a.timeout || 30000 });
	return page.url();
}

const cmds = {
	open,
	async wait(a) {
		const h = await page.waitForFunction(a.expr, { timeout: a.timeout || 30000, polling: 100 });
		return h.jsonValue();
	},
	eval: a => page.evaluate(a.expr),
	async click(a) { await page.click(a.sel); },
	async type(a) {
		await page.click(a.sel, { clickCount: 3 });
		await page.keyboard.press('Backspace');
		await page.type(a.sel, a.text);
	},
	async select(a) { await page.select(a.sel, a.value); },
	async press(a) { await page.keyboard.press(a.key); },
	async shot(a) {
		await page.screenshot({ path: a.path, fullPage: !!a.full });
		return a.path;
	},
	log(a) {
		const r = { errors, foreign, console: cons };
		if (a.clear) { errors = []; foreign = []; cons = []; }
		return r;
	},
	async reload() {
		loads = [];
		await page.reload({ waitUntil: 'load' });
		return loads;
	},
};

async function main() {
	await launch();
	out({ ok: true, value: await browser.version() });
	const rl = readline.createInterface({ input: process.stdin });
	for await (const line of rl) {
		if (!line.trim()) continue;
		let a;
		try { a = JSON.parse(line); } catch (e) { out({ ok: false, error: 'bad JSON: ' + e.message }); continue; }
		if (a.cmd === 'quit') break;
		const f = cmds[a.cmd];
		if (!f) { out({ ok: false, error: 'no command ' + a.cmd }); continue; }
		try {
			const v = await f(a);
			out({ ok: true, value: v === undefined ? null : v });
		} catch (e) {
			out({ ok: false, error: String(e && e.message || e) });
		}
	}
}

main().catch(e => out({ ok: false, error: 'driver: ' + (e && e.stack || e) }))
	.finally(async () => {
		try { if (browser) await browser.close(); } catch (e) { /* already gone */ }
		if (profile) fs.rmSync(profile, { recursive: true, force: true });
		process.exit(0);
	});
