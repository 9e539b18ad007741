// lab.mjs drives headless Chromium through qlab's JupyterLab (notebooks/lab)
// the way a person would: it checks the launcher's "Go (qlab)" card, opens
// each notebook from the file browser, runs all its cells from the Run menu
// and records what the page shows (figures, the progress bar's updates,
// errors); then, in a new notebook made from the launcher card, it asks for
// Tab completion and Shift-Tab help, interrupts a long training cell from
// the toolbar and reads a variable afterwards; and with --widgets NAME it
// moves the first slider of that notebook's widget cell and records the
// figure before and after. It prints one JSON object on stdout and judges
// nothing: lab_test.go asserts on it. Only the browser's own failures (a
// deadline passed, an element never appeared) make it exit non-zero, after
// printing the JSON gathered so far.
//
// Usage (lab_test.go builds this command line):
//
//	node lab.mjs --url http://127.0.0.1:PORT/ --token TOKEN
//	    --notebooks A.ipynb,B.ipynb --chromium /usr/bin/chromium
//	    --profile EMPTY_DIR --shots DIR [--widgets NAME.ipynb] [--timeout-ms MS]
//
// The page may reach loopback only: any other request is aborted and listed
// in the report's "blocked" field. Actions go through the UI (clicks, menus,
// keys); state is read from the DOM and, where the DOM does not say it
// (kernel status, execution counts), from the application object index.js
// exposes as window.qlabLab.

import { chromium } from 'playwright-core';

function parseArgs(argv) {
  const want = ['url', 'token', 'notebooks', 'chromium', 'profile', 'shots', 'widgets', 'timeout-ms'];
  const opts = { 'timeout-ms': '600000', widgets: '' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!want.includes(key) || i + 1 >= argv.length) {
      throw new Error(`lab.mjs: bad argument ${JSON.stringify(argv[i])}; want --KEY VALUE pairs of ${want.join(', ')}`);
    }
    opts[key] = argv[i + 1];
  }
  for (const k of want) {
    if (opts[k] === undefined || (opts[k] === '' && k !== 'widgets')) throw new Error(`lab.mjs: missing --${k}`);
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const deadline = Date.now() + Number(opts['timeout-ms']);
const left = () => Math.max(1000, deadline - Date.now());
// ui bounds a wait for an element or a click: a minute, so a missing
// element fails with a screenshot long before the overall deadline.
const ui = () => Math.min(60000, left());

const report = {
  phase: 'launch',
  timings_ms: {},
  launcher: [],
  notebooks: [],
  completion: [],
  tooltip: '',
  interrupt: null,
  widgets: null,
  blocked: [],
  console_errors: [],
  page_errors: [],
  screenshots: [],
};
const t0 = Date.now();
const mark = (name) => { report.timings_ms[name] = Date.now() - t0; };

let context;
let page;
let failure = null;

// shot saves a screenshot of the whole window under --shots.
async function shot(name) {
  const path = `${opts.shots}/${name}.png`;
  await page.screenshot({ path, timeout: 15000 });
  report.screenshots.push(path);
}

// kernelIdle waits until the current notebook's kernel is connected and
// idle.
async function kernelIdle(timeout = left()) {
  await page.waitForFunction(() => {
    const w = window.qlabLab.shell.currentWidget;
    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
    return k && k.connectionStatus === 'connected' && k.status === 'idle';
  }, null, { timeout, polling: 50 });
}

// ranAll waits until no code cell of the current notebook is queued or
// running, at least one has run, and the kernel is idle. Not "every cell
// numbered": Run All stops at an error, and the report should say so at
// once rather than wait out the deadline.
async function ranAll() {
  await page.waitForFunction(() => {
    const w = window.qlabLab.shell.currentWidget;
    const k = w.sessionContext.session && w.sessionContext.session.kernel;
    const cells = w.content.widgets.filter((c) => c.model.type === 'code');
    const prompts = cells.map((c) => c.node.querySelector('.jp-InputPrompt').textContent);
    return k && k.status === 'idle' && cells.some((c) => c.model.executionCount !== null) &&
      !prompts.some((p) => p.includes('*'));
  }, null, { timeout: left(), polling: 100 });
}

// menu clicks a main-menu entry: menu("Run", "Run All Cells").
async function menu(top, item) {
  await page.click(`.lm-MenuBar-itemLabel:text-is("${top}")`, { timeout: ui() });
  await page.click(`.lm-Menu-itemLabel:text-is("${item}")`, { timeout: ui() });
}

// Records, every 25 ms while cells run, each .qlab-progress bar's value,
// keyed by code cell and the bar's title (its first span), and the most
// bars with one title a cell showed at once: an update drawn as a new
// output instead of in place shows as two bars with the same title.
function watchProgress() {
  window.qlabProgress = {};
  window.qlabProgressTimer = setInterval(() => {
    const w = window.qlabLab.shell.currentWidget;
    if (!w || !w.content) return;
    w.content.widgets.forEach((c, i) => {
      const seen = {};
      for (const bar of c.node.querySelectorAll('.jp-OutputArea .qlab-progress')) {
        const title = bar.querySelector('span') ? bar.querySelector('span').innerText : '';
        const key = `${i}\u0000${title}`;
        seen[key] = (seen[key] || 0) + 1;
        const rec = window.qlabProgress[key] || (window.qlabProgress[key] = { cell: i, title, max_same: 0, values: [] });
        rec.max_same = Math.max(rec.max_same, seen[key]);
        const p = bar.querySelector('progress');
        const v = p && p.hasAttribute('value') ? `${p.value}/${p.max}` : 'indeterminate';
        if (rec.values[rec.values.length - 1] !== v) rec.values.push(v);
      }
    });
  }, 25);
}

// inspectNotebook reports the current notebook's cells, figures, errors and
// progress bars.
async function inspectNotebook() {
  return page.evaluate(async () => {
    clearInterval(window.qlabProgressTimer);
    const w = window.qlabLab.shell.currentWidget;
    const cells = w.content.widgets.filter((c) => c.model.type === 'code').map((c) => {
      const outs = c.model.outputs.toJSON();
      return {
        execution_count: c.model.executionCount,
        output_types: outs.map((o) => o.output_type),
        // The kernel's figures: outputs whose bundle holds an image.
        figures: outs.filter((o) => o.data && (o.data['image/png'] || o.data['image/svg+xml'])).length,
        errors: outs.filter((o) => o.output_type === 'error').map((o) => `${o.ename}: ${o.evalue}`),
      };
    });
    // What the page drew for them: Lab renders both PNG and SVG as <img>.
    // Images inside widgets (an Interact's output) are in the widget's
    // state, not among the cell's outputs, and are counted apart.
    const all = [...w.node.querySelectorAll('.jp-RenderedImage img, .jp-RenderedSVG img')];
    const imgs = all.filter((img) => !img.closest('.jupyter-widgets'));
    const widgetImages = all.length - imgs.length;
    const images = await Promise.all(imgs.map(async (img) => {
      let decoded = true;
      try { await img.decode(); } catch { decoded = false; }
      return { src: img.src.slice(0, 22), decoded, natural_width: img.naturalWidth, natural_height: img.naturalHeight };
    }));
    const progress = Object.values(window.qlabProgress).map((r) => ({
      cell: r.cell, title: r.title, max_same: r.max_same, values: r.values,
      final_same: [...w.content.widgets[r.cell].node.querySelectorAll('.qlab-progress')]
        .filter((b) => (b.querySelector('span') ? b.querySelector('span').innerText : '') === r.title).length,
    }));
    return {
      name: w.context.path,
      kernel_display_name: w.sessionContext.kernelDisplayName,
      cells, images, widget_images: widgetImages, progress,
    };
  });
}

// setCell makes the active cell's source text, for set-up code that the
// test types no keys into.
async function setCell(text) {
  await page.evaluate((t) => { window.qlabLab.shell.currentWidget.content.activeCell.model.value.text = t; }, text);
}

// runCell runs the active cell with Shift-Enter (which adds a cell below
// when it is the last) and waits until it is done.
async function runCell() {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Enter');
  await page.waitForFunction(() => {
    const w = window.qlabLab.shell.currentWidget;
    const k = w.sessionContext.session.kernel;
    return k.status === 'idle' && !w.content.widgets.some((c) =>
      c.model.type === 'code' && c.node.querySelector('.jp-InputPrompt').textContent.includes('*'));
  }, null, { timeout: left(), polling: 50 });
}

// editLast puts the cursor at the end of the active cell's editor.
async function editActive() {
  await page.click('.jp-Notebook .jp-Cell.jp-mod-active .CodeMirror', { timeout: ui() });
  await page.keyboard.press('Control+End');
}

async function cellText(i) {
  return page.evaluate((n) => {
    const c = window.qlabLab.shell.currentWidget.content.widgets[n];
    return c.node.querySelector('.jp-OutputArea') ? c.node.querySelector('.jp-OutputArea').innerText : '';
  }, i);
}

try {
  context = await chromium.launchPersistentContext(opts.profile, {
    executablePath: opts.chromium,
    headless: true,
    chromiumSandbox: false,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 1000 },
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
  page.setDefaultTimeout(60000);
  page.on('console', (m) => { if (m.type() === 'error') report.console_errors.push(m.text()); });
  page.on('pageerror', (e) => report.page_errors.push(String(e)));

  report.phase = 'open';
  const base = opts.url.endsWith('/') ? opts.url : opts.url + '/';
  await page.goto(`${base}lab?token=${encodeURIComponent(opts.token)}`, { timeout: left() });
  await page.waitForSelector('body[data-qlab-lab-restored="true"]', { state: 'attached', timeout: left() });
  mark('restored');

  report.phase = 'launcher';
  await page.waitForSelector('.jp-LauncherCard', { timeout: ui() });
  report.launcher = await page.evaluate(async () => Promise.all(
    [...document.querySelectorAll('.jp-LauncherCard')].map(async (card) => {
      const img = card.querySelector('img');
      let decoded = false;
      if (img) { try { await img.decode(); decoded = true; } catch { decoded = false; } }
      return {
        category: card.getAttribute('data-category') || '',
        label: card.querySelector('.jp-LauncherCard-label').innerText.trim(),
        img_src: img ? new URL(img.src).pathname : '',
        img_decoded: decoded,
        img_natural_width: img ? img.naturalWidth : 0,
      };
    })));
  await shot('launcher');

  for (const name of opts.notebooks.split(',')) {
    report.phase = `notebook ${name}`;
    // From the file browser, as a person would open it.
    await page.locator('.jp-DirListing-item', { hasText: name }).first().dblclick({ timeout: ui() });
    await page.waitForFunction((n) => {
      const w = window.qlabLab.shell.currentWidget;
      return w && w.context && w.context.path === n && w.content && w.content.widgets.length > 0;
    }, name, { timeout: left() });
    await kernelIdle();
    mark(`${name} idle`);
    await page.evaluate(watchProgress);
    await menu('Run', 'Run All Cells');
    await ranAll();
    mark(`${name} ran`);
    report.notebooks.push(await inspectNotebook());
    await shot(name.replace(/\.ipynb$/, ''));

    if (name === opts.widgets) {
      report.phase = `widgets ${name}`;
      report.widgets = await moveSlider();
      await shot(name.replace(/\.ipynb$/, '') + '-widget');
    }
    // Close it and shut its kernel down, so at most one kernel runs.
    await page.evaluate(async () => {
      const w = window.qlabLab.shell.currentWidget;
      await w.sessionContext.shutdown();
      w.dispose();
    });
  }

  report.phase = 'new notebook';
  await menu('File', 'New Launcher');
  await page.click('.jp-LauncherCard[data-category="Notebook"][title="Go (qlab)"]:visible', { timeout: ui() });
  await page.waitForFunction(() => {
    const w = window.qlabLab.shell.currentWidget;
    return w && w.content && w.content.activeCell;
  }, null, { timeout: left() });
  await kernelIdle();
  mark('new notebook idle');
  await setCell('import (\n\t"github.com/qlab-dev/qlab/kernel/cell"\n\t"qlab/arch"\n\t"qlab/data"\n\t"qlab/train"\n)\n\nkept := 42');
  await runCell();

  report.phase = 'completion';
  await editActive();
  await page.keyboard.type('arch.');
  await page.keyboard.press('Tab');
  await page.waitForSelector('.jp-Completer .jp-Completer-item', { timeout: 20000 });
  report.completion = await page.evaluate(() =>
    [...document.querySelectorAll('.jp-Completer .jp-Completer-item .jp-Completer-match')].map((e) => e.innerText.trim()));
  await shot('completion');
  await page.keyboard.press('Escape');

  report.phase = 'tooltip';
  await setCell('arch.VGGSpec');
  await editActive();
  await page.keyboard.press('Shift+Tab');
  await page.waitForSelector('.jp-Tooltip', { timeout: 20000 });
  report.tooltip = await page.innerText('.jp-Tooltip');
  await shot('tooltip');
  await page.keyboard.press('Escape');

  report.phase = 'interrupt';
  // A training run of minutes, stopped from the toolbar once its progress
  // bar shows it is under way.
  await setCell([
    'model, err := arch.VGGSpec{Input: []int{1, 28, 28}, Classes: 10, Stages: [][]int{{8}, {16}}, BatchNorm: true, Seed: 1}.Build()',
    'if err != nil {\n\tpanic(err)\n}',
    'trainSet, _, err := data.MNIST()',
    'if err != nil {\n\tpanic(err)\n}',
    '_, err = train.Fit(cell.Context(), model, trainSet, nil, train.Config{Epochs: 100, BatchSize: 32, Seed: 1, Progress: train.ProgressBar("long")})',
    'err',
  ].join('\n'));
  await page.keyboard.press('Escape');
  await page.keyboard.press('Shift+Enter');
  // Under way: the bar has moved; or the cell already ended, which the
  // report then shows (no interrupt needed, and the test fails on it).
  await page.waitForFunction(() => {
    const w = window.qlabLab.shell.currentWidget;
    const c = w.content.widgets[w.content.widgets.length - 2];
    const bars = [...c.node.querySelectorAll('.qlab-progress progress[value]')];
    return bars.some((b) => b.value >= 5) || c.model.executionCount !== null;
  }, null, { timeout: Math.min(left(), 300000), polling: 50 });
  // The interrupted cell's execute_reply, as it arrives: its header's date
  // is the kernel's clock (the same machine's), which separates the
  // kernel's part of the wait from the servers' and the page's.
  await page.evaluate(() => {
    window.qlabReply = null;
    const k = window.qlabLab.shell.currentWidget.sessionContext.session.kernel;
    k.anyMessage.connect((_, args) => {
      if (args.direction === 'recv' && args.msg.header.msg_type === 'execute_reply' && !window.qlabReply) {
        window.qlabReply = { sent: Date.parse(args.msg.header.date), received: Date.now(), status: args.msg.content.status };
      }
    });
  });
  const clicked = Date.now();
  // The toolbar's stop button (JupyterLab 3.6: a command button running
  // kernelmenu:interrupt, titled "Interrupt the kernel (I, I)").
  await page.click('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar button[data-command="kernelmenu:interrupt"]', { timeout: 5000 });
  await page.waitForFunction(() => {
    const w = window.qlabLab.shell.currentWidget;
    const c = w.content.widgets[w.content.widgets.length - 2];
    return c.model.executionCount !== null && w.sessionContext.session.kernel.status === 'idle';
  }, null, { timeout: 30000, polling: 20 });
  const stoppedMS = Date.now() - clicked;
  const reply = await page.evaluate(() => window.qlabReply);
  const interruptedText = await page.evaluate(() => {
    const w = window.qlabLab.shell.currentWidget;
    const c = w.content.widgets[w.content.widgets.length - 2];
    return c.model.outputs.toJSON().map((o) => o.output_type === 'error' ? `${o.ename}: ${o.evalue}` :
      (o.text || (o.data && o.data['text/plain']) || '')).join('\n');
  });
  await shot('interrupt');
  await setCell('fmt.Sprint("kept=", kept)');
  await page.evaluate(() => { window.qlabLab.shell.currentWidget.content.activeCell.model.value.text = 'import "fmt"\n\nfmt.Sprint("kept=", kept)'; });
  await runCell();
  const afterText = await page.evaluate(() => {
    const w = window.qlabLab.shell.currentWidget;
    const c = w.content.widgets[w.content.widgets.length - 2];
    return c.node.querySelector('.jp-OutputArea').innerText;
  });
  report.interrupt = {
    stopped_ms: stoppedMS, output: interruptedText, after: afterText,
    reply_ms: reply ? reply.sent - clicked : -1, reply_received_ms: reply ? reply.received - clicked : -1,
    reply_status: reply ? reply.status : '',
  };
  await page.evaluate(async () => { await window.qlabLab.shell.currentWidget.sessionContext.shutdown(); });
  mark('interrupt');
  report.phase = 'done';
} catch (e) {
  failure = e;
  // The current notebook's toolbar, for a selector that no longer matches.
  if (page) {
    report.toolbar_html = await page.evaluate(() => {
      const t = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar');
      return t ? t.outerHTML.slice(0, 6000) : '';
    }).catch(() => '');
  }
  if (page) await shot(`failed-${report.phase.replace(/[^a-z0-9.-]+/gi, '_')}`).catch(() => {});
} finally {
  if (context) await context.close().catch(() => {});
}
console.log(JSON.stringify(report));
if (failure) {
  console.error(`lab.mjs: ${report.phase}: ${failure.message}`);
  process.exit(1);
}

// moveSlider finds the first slider of the current notebook's widgets,
// records the figure in the same cell's widget output, drags the slider's
// handle to the left end of its track with the mouse, waits for the figure
// to change, and runs the cell after the widget cell, whose output reads
// the controls' values on the Go side.
async function moveSlider() {
  const imgOf = () => page.evaluate(() => {
    const w = window.qlabLab.shell.currentWidget;
    const slider = w.node.querySelector('.widget-slider');
    const cell = slider && slider.closest('.jp-Cell');
    const img = cell && cell.querySelector('.jupyter-widgets-output-area img, .widget-output img');
    return img ? img.src : '';
  });
  await page.waitForSelector('.jp-NotebookPanel:not(.lm-mod-hidden) .widget-slider .noUi-handle', { timeout: ui() });
  const before = await imgOf();
  const handle = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .widget-slider .noUi-handle').first();
  await handle.scrollIntoViewIfNeeded();
  const track = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .widget-slider .noUi-target').first();
  const hb = await handle.boundingBox();
  const tb = await track.boundingBox();
  await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
  await page.mouse.down();
  await page.mouse.move(tb.x - 20, hb.y + hb.height / 2, { steps: 8 });
  await page.mouse.up();
  const moved = Date.now();
  let after = before;
  while (Date.now() - moved < 60000 && after === before) {
    await page.waitForTimeout(100);
    after = await imgOf();
  }
  const changeMS = Date.now() - moved;
  const readout = await page.evaluate(() => {
    const r = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .widget-slider .widget-readout');
    return r ? r.innerText.trim() : '';
  });
  // The cell after the widget cell reads the values in Go: run it.
  const idx = await page.evaluate(() =>
    window.qlabLab.shell.currentWidget.content.widgets.findIndex((c) => c.node.querySelector('.widget-slider')));
  // Select it with a click on its prompt, which also takes the keyboard
  // focus back from the slider.
  await page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook > .jp-Cell').nth(idx + 1)
    .locator('.jp-InputPrompt').click({ timeout: ui() });
  await runCell();
  return {
    before_len: before.length, after_len: after.length,
    changed: before !== '' && after !== '' && before !== after,
    change_ms: changeMS, readout, go_value: await cellText(idx + 1),
  };
}
