// run.mjs drives headless Chromium through the classic Jupyter Notebook UI:
// it opens one notebook on a running server, runs every cell from the menu
// (Cell → Run All), waits until no cell is queued or running and the kernel
// is idle, saves a screenshot, and prints what the page shows as one JSON
// object on stdout. It judges nothing: browser_test.go asserts on the JSON.
// Only the browser's own failures (no kernel, a deadline passed) make it exit
// non-zero, after printing the JSON gathered so far.
//
// Usage (browser_test.go builds this command line):
//
//	node run.mjs --url http://127.0.0.1:PORT/ --token TOKEN --notebook NAME.ipynb
//	    --chromium /usr/bin/chromium --profile EMPTY_DIR --screenshot OUT.png
//	    [--timeout-ms 45000]
//
// The browser may reach loopback only: any other request is aborted and
// listed in the report's "blocked" field.

import { chromium } from 'playwright-core';

function parseArgs(argv) {
  const want = ['url', 'token', 'notebook', 'chromium', 'profile', 'screenshot', 'timeout-ms'];
  const opts = { 'timeout-ms': '45000' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!want.includes(key) || i + 1 >= argv.length) {
      throw new Error(`run.mjs: bad argument ${JSON.stringify(argv[i])}; want --KEY VALUE pairs of ${want.join(', ')}`);
    }
    opts[key] = argv[i + 1];
  }
  for (const k of want) {
    if (!opts[k]) throw new Error(`run.mjs: missing --${k}`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const deadline = Date.now() + Number(opts['timeout-ms']);
const left = () => Math.max(1000, deadline - Date.now());

const report = {
  phase: 'launch',
  timings_ms: {},
  kernel_name: '',
  cells: [],
  progress: [],
  svg: [],
  png: [],
  errors: [],
  blocked: [],
  console_errors: [],
  page_errors: [],
  screenshot: '',
};
const t0 = Date.now();
const mark = (name) => { report.timings_ms[name] = Date.now() - t0; };

let context;
let page;
let failure = null;
try {
  // launchPersistentContext because Playwright owns --user-data-dir; the
  // other flags keep Chromium quiet on a closed network (no update, sync,
  // field-trial or QUIC traffic) and working without a GPU or a sandbox.
  context = await chromium.launchPersistentContext(opts.profile, {
    executablePath: opts.chromium,
    headless: true,
    chromiumSandbox: false,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: left(),
  });
  mark('launched');
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.protocol === 'data:' || u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]') {
      return route.continue();
    }
    report.blocked.push(route.request().url());
    return route.abort();
  });
  page = context.pages()[0] ?? await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') report.console_errors.push(m.text()); });
  page.on('pageerror', (e) => report.page_errors.push(String(e)));

  report.phase = 'open';
  const base = opts.url.endsWith('/') ? opts.url : opts.url + '/';
  await page.goto(`${base}notebooks/${encodeURIComponent(opts.notebook)}?token=${encodeURIComponent(opts.token)}`,
    { timeout: left() });
  // The notebook is usable once it has loaded and its kernel is connected
  // and idle (the kernel indicator's idle icon).
  await page.waitForFunction(() => {
    const nb = window.Jupyter && window.Jupyter.notebook;
    return nb && nb._fully_loaded && nb.kernel && nb.kernel.is_connected() &&
      document.querySelector('#kernel_indicator_icon.kernel_idle_icon') !== null;
  }, null, { timeout: left(), polling: 100 });
  mark('kernel_idle');
  report.kernel_name = (await page.textContent('.kernel_indicator_name', { timeout: left() })).trim();

  report.phase = 'run';
  // Through the menu, as a person would.
  await page.click('#celllink', { timeout: left() });
  await page.click('#run_all_cells > a', { timeout: left() });
  // Done: no code cell is still queued or running ("In [*]"), at least
  // one has run, and the kernel's last status is idle. Not "every cell
  // numbered": after an error Run All aborts the cells below, which go back
  // to "In [ ]", and the test should report that error at once rather than
  // wait out its deadline.
  await page.waitForFunction(() => {
    const cells = window.Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code');
    return cells.some((c) => typeof c.input_prompt_number === 'number') &&
      cells.every((c) => c.input_prompt_number !== '*') &&
      document.querySelector('#kernel_indicator_icon.kernel_idle_icon') !== null;
  }, null, { timeout: left(), polling: 100 });
  mark('ran');

  report.phase = 'inspect';
  Object.assign(report, await page.evaluate(async () => {
    const cells = window.Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code').map((c) => ({
      execution_count: c.input_prompt_number,
      // What the frontend made of each output: its area's classes
      // (output_html, output_svg, output_png, output_stream, output_error ...).
      outputs: [...c.element[0].querySelectorAll('.output_subarea')].map((el) =>
        [...el.classList].filter((k) => k.startsWith('output_') && k !== 'output_subarea')),
      text: c.output_area.element[0].innerText,
    }));
    const progress = [...document.querySelectorAll('.qlab-progress')].map((el) => {
      const bar = el.querySelector('progress');
      return {
        value: bar ? bar.value : -1,
        max: bar ? bar.max : -1,
        text: el.innerText,
        width: el.getBoundingClientRect().width,
      };
    });
    const svg = [...document.querySelectorAll('.output_svg svg')].map((el) => {
      const r = el.getBoundingClientRect();
      return { width: r.width, height: r.height };
    });
    const imgs = [...document.querySelectorAll('.output_png img')];
    // decode() resolves once the browser has actually decoded the image
    // (and rejects on corrupt data), so a broken PNG shows as decoded=false.
    const png = await Promise.all(imgs.map(async (img) => {
      let decoded = true;
      try { await img.decode(); } catch { decoded = false; }
      return {
        data_png: img.src.startsWith('data:image/png;base64,'),
        decoded,
        natural_width: img.naturalWidth,
        natural_height: img.naturalHeight,
      };
    }));
    const errors = [...document.querySelectorAll('.output_error')].map((el) => el.innerText);
    return { cells, progress, svg, png, errors };
  }));

  report.phase = 'screenshot';
  // The notebook scrolls inside #site, so grow the viewport to the whole
  // notebook before the shot rather than relying on fullPage.
  const height = await page.evaluate(() => {
    const header = document.querySelector('#header');
    const nb = document.querySelector('#notebook-container');
    return Math.ceil((header ? header.offsetHeight : 0) + (nb ? nb.scrollHeight : 0) + 80);
  });
  await page.setViewportSize({ width: 1280, height: Math.min(Math.max(height, 900), 6000) });
  await page.screenshot({ path: opts.screenshot, timeout: left() });
  report.screenshot = opts.screenshot;
  mark('screenshot');
  report.phase = 'done';
} catch (e) {
  failure = e;
  // A picture of the page as it was when the step failed, for the CI
  // artifacts; best effort.
  if (page && !report.screenshot) {
    await page.screenshot({ path: opts.screenshot, timeout: 5000 })
      .then(() => { report.screenshot = opts.screenshot; }, () => {});
  }
} finally {
  if (context) await context.close().catch(() => {});
}
console.log(JSON.stringify(report));
if (failure) {
  console.error(`run.mjs: ${report.phase}: ${failure.message}`);
  process.exit(1);
}
