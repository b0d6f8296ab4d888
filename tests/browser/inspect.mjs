// Opens fivehundred's HTML pages in Debian's Chromium and says what a person's browser would
// have done with them, for tests/browser.rs. One command per stdin line (JSON), one answer per
// stdout line (JSON); the browser stays open between commands so a page's own meta refresh can
// be watched:
//   {"open": URL, "screenshot": PATH, "full_page": true}
//   {"await_sum": N, "await_status_mix": ["N", …], "timeout_ms": T, "screenshot": PATH}
//       wait for the page to reload itself until its chart's bars add up to at least N and/or
//       its #status-mix shows every number listed (either condition may be left out)
// Each answer is a snapshot of the page (see `readPage`), plus everything seen since launch:
// console errors, every request URL, dialogs opened. Scripts stay enabled and the page's CSP
// is honoured, so an injected script that the escaping let through would really run.
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const executablePath = process.env.FIVEHUNDRED_CHROMIUM || '/usr/bin/chromium';
// The machine's network is closed: without these, Chromium's own background connections fail
// noisily. Playwright gives each launch a fresh, empty profile directory.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Writes one answer line. */
function answer(value) {
  process.stdout.write(JSON.stringify(value) + '\n');
}

/** What the page shows now, read from the DOM (runs in the page, outside its CSP). */
function readPage() {
  const bars = [...document.querySelectorAll('svg.chart rect.bar')].map((r) => ({
    cause: r.closest('g.series')?.getAttribute('data-cause') ?? null,
    bucket: r.getAttribute('data-bucket'),
    count: Number(r.getAttribute('data-count')),
  }));
  // Elements and attributes that only injected markup would bring: the report has none.
  const active = [...document.querySelectorAll('*')].filter((e) =>
    ['SCRIPT', 'IMG', 'IFRAME', 'OBJECT', 'EMBED'].includes(e.tagName) ||
    [...e.attributes].some((a) => a.name.toLowerCase().startsWith('on')));
  const text = (sel) => document.querySelector(sel)?.innerText ?? null;
  return {
    url: location.href,
    title: document.title,
    csp_meta: document.querySelector('meta[http-equiv="Content-Security-Policy" i]')
      ?.getAttribute('content') ?? null,
    pwned: window.__pwned !== undefined,
    chart: document.querySelector('svg.chart') !== null,
    series: document.querySelectorAll('svg.chart g.series').length,
    bars,
    verdict: text('#verdict'),
    status_mix: text('#status-mix'),
    incidents: document.querySelectorAll('#incidents .incident').length,
    // The report's overview figures as shown, and its tables' rows (count, the count shown in
    // the first numeric cell, every cell's text).
    figures: Object.fromEntries([...document.querySelectorAll('#overview [data-figure]')]
      .map((e) => [e.getAttribute('data-figure'), e.querySelector('.value')?.innerText ?? ''])),
    rows: [...document.querySelectorAll('section[id] tr[data-count]')].map((r) => ({
      section: r.closest('section').id,
      key: r.getAttribute('data-row'),
      count: Number(r.getAttribute('data-count')),
      shown: r.querySelector('td.n')?.innerText ?? null,
      cells: [...r.cells].map((c) => c.innerText),
    })),
    crawlers_panel: document.querySelector('#crawlers') !== null,
    outages: document.querySelectorAll('#crawlers #robots-timeline .outage').length,
    // The robots.txt timeline's axis (ms) and width, and each outage's times and its `.down`
    // band as laid out (px, from the track's left edge).
    timeline: (() => {
      const t = document.querySelector('#robots-timeline');
      if (!t) return null;
      return {
        from_ms: Number(t.getAttribute('data-from-ms')),
        to_ms: Number(t.getAttribute('data-to-ms')),
        outages: [...t.querySelectorAll('.outage')].map((o) => {
          const track = o.querySelector('.track').getBoundingClientRect();
          const down = o.querySelector('.down');
          const box = down.getBoundingClientRect();
          return {
            start_ms: Number(o.getAttribute('data-start-ms')),
            end_ms: Number(o.getAttribute('data-end-ms')),
            tick: down.classList.contains('tick'),
            track_px: track.width,
            left_px: box.left - track.left,
            width_px: box.width,
          };
        }),
      };
    })(),
    body_text: document.body?.innerText ?? '',
    active_elements: active.map((e) => e.outerHTML.slice(0, 200)),
  };
}

/** Runs `fn` in the page, retrying while a reload replaces the document. */
async function inPage(page, fn, deadline) {
  for (;;) {
    try {
      await page.waitForLoadState('load', { timeout: Math.max(1, deadline - Date.now()) });
      return await page.evaluate(fn);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function main() {
  if (!existsSync(executablePath)) {
    answer({ fatal: `Chromium not found at ${executablePath}: install Debian's chromium ` +
      '(bash scripts/test does) or set FIVEHUNDRED_CHROMIUM' });
    process.exit(3);
  }
  const browser = await chromium.launch({ executablePath, args: ARGS, headless: true });
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const seen = { console_errors: [], requests: [], dialogs: [], loads: 0, csp_header: null };
  page.on('console', (m) => { if (m.type() === 'error') seen.console_errors.push(m.text()); });
  page.on('pageerror', (e) => seen.console_errors.push(String(e)));
  context.on('request', (r) => seen.requests.push(r.url()));
  page.on('dialog', (d) => { seen.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  page.on('load', () => { seen.loads += 1; });
  // The CSP header the latest document came with (an http:// page's; file:// has none).
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) {
      seen.csp_header = r.headers()['content-security-policy'] ?? null;
    }
  });

  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    try {
      const cmd = JSON.parse(line);
      if (cmd.open !== undefined) {
        await page.goto(cmd.open, { waitUntil: 'load', timeout: 30000 });
      }
      const deadline = Date.now() + (cmd.timeout_ms ?? 30000);
      let snap = await inPage(page, readPage, deadline);
      let timedOut = false;
      if (cmd.await_sum !== undefined || cmd.await_status_mix !== undefined) {
        const loadsBefore = seen.loads;
        const sum = (s) => s.bars.reduce((a, b) => a + b.count, 0);
        const numbers = (s) => (s.status_mix ?? '').split(/[^0-9]+/);
        const done = (s) => seen.loads > loadsBefore &&
          (cmd.await_sum === undefined || sum(s) >= cmd.await_sum) &&
          (cmd.await_status_mix === undefined || cmd.await_status_mix.every((n) => numbers(s).includes(n)));
        while (!done(snap)) {
          if (Date.now() > deadline) { timedOut = true; break; }
          await new Promise((r) => setTimeout(r, 100));
          snap = await inPage(page, readPage, deadline);
        }
      }
      if (cmd.screenshot) {
        await page.screenshot({ path: cmd.screenshot, fullPage: cmd.full_page ?? true });
      }
      answer({ ...snap, ...seen, timed_out: timedOut, screenshot: cmd.screenshot ?? null });
    } catch (e) {
      answer({ error: String(e && e.stack ? e.stack : e) });
    }
  }
  await browser.close();
}

main().catch((e) => {
  answer({ fatal: String(e && e.stack ? e.stack : e) });
  process.exit(1);
});
