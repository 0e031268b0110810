// Screenshots of the Aspire dashboard of a running AppHost, for the README (docs/images/).
//
// The dashboard is a Blazor app that draws its pages only once its live connection to the server is open, so
// `chromium --headless --screenshot` captures an empty page. This script starts a headless Chromium as a child
// process, drives it through the DevTools protocol (no npm dependency: Node's WebSocket and fetch), waits until the
// page shows what it should, and saves PNGs:
//   dashboard-resources.png  the resources page once every resource is Running (migrations: Finished)
//   dashboard-trace.png      with --trace: the newest `gateway: POST` trace (send a POST through the gateway first)
// Dashboard notifications (the message bars above the page, e.g. "No trusted development certificate") are
// dismissed before each capture.
//
// Run, with the AppHost running (its console prints the login URL, `…/login?t=<token>`):
//   node --experimental-websocket docs/tools/dashboard-screenshot.mjs '<login URL>' [options]
// Options:
//   --out <dir>            where the PNGs go (default docs/images)
//   --size <W>x<H>         viewport in CSS pixels (default 1600x640: the resources table and the trace fit)
//   --resources <a,b,…>    resources to wait for (default: the CqrsDapr AppHost's nine)
//   --trace                also capture the newest gateway POST trace
//   --timeout <seconds>    how long to wait for each page (default 120)
// Chromium: `chromium` on the PATH, or the CHROMIUM environment variable. Node 22+ needs no flag.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string', default: 'docs/images' },
    size: { type: 'string', default: '1600x640' },
    resources: {
      type: 'string',
      default: 'writedb,readdb,redis,migrations,command-service,command-service-dapr,query-service,query-service-dapr,gateway',
    },
    trace: { type: 'boolean', default: false },
    timeout: { type: 'string', default: '120' },
  },
});
if (positionals.length !== 1) {
  console.error("usage: node --experimental-websocket docs/tools/dashboard-screenshot.mjs '<dashboard login URL>' [--out dir] [--size WxH] [--resources a,b] [--trace]");
  process.exit(2);
}
if (typeof WebSocket === 'undefined') {
  console.error('This Node has no global WebSocket: run it with --experimental-websocket (Node 20/21) or use Node 22+.');
  process.exit(2);
}

const loginUrl = new URL(positionals[0]);
const [width, height] = options.size.split('x').map(Number);
const timeoutMs = Number(options.timeout) * 1000;
const resources = options.resources.split(',').filter(Boolean);
mkdirSync(options.out, { recursive: true });

const browser = await startChromium();
try {
  const page = await browser.openPage();
  await page.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });

  // The login URL sets the auth cookie and redirects to returnUrl; later pages reuse the cookie.
  const at = path => new URL(path, loginUrl.origin).href;
  const login = new URL(loginUrl);
  login.searchParams.set('returnUrl', '/');
  await page.navigate(login.href);
  await page.waitFor(`(${resourcesReady})(${JSON.stringify(resources)})`, 'every resource Running or Finished');
  await capture(page, 'dashboard-resources.png');

  if (options.trace) {
    await page.navigate(at('/traces/resource/gateway'));
    const traceId = await page.waitFor(`(${newestTrace})('gateway: POST')`, 'a gateway POST trace');
    await page.navigate(at(`/traces/detail/${traceId}`));
    await page.waitFor("document.body.innerText.includes('Total spans')", 'the trace detail');
    await capture(page, 'dashboard-trace.png');
  }
} finally {
  await browser.close();
}

/** Dismisses the notifications, lets the page finish drawing and saves a PNG of the viewport. */
async function capture(page, file) {
  await page.evaluate(`document.querySelectorAll('fluent-button[aria-label="Dismiss notification"]').forEach(b => b.click())`);
  await sleep(3000); // grids and charts settle (column widths, icons, live updates)
  const { data } = await page.send('Page.captureScreenshot', { format: 'png' });
  const path = join(options.out, file);
  writeFileSync(path, Buffer.from(data, 'base64'));
  console.log(`${path}: ${Math.round(Buffer.byteLength(data, 'base64') / 1024)} KB`);
}

/**
 * Runs in the page: true once each resource's row shows Running (or Finished, for the migrations). The grid's text
 * reads name, state, start time, … line after line; a running resource whose health checks do not pass yet reads
 * "Running (Unhealthy)". A run-to-completion resource that failed may read Finished too (red icon): look at the PNG.
 */
function resourcesReady(names) {
  const lines = document.body.innerText.split('\n').map(line => line.trim());
  return names.every(name => {
    const row = lines.indexOf(name);
    return row >= 0 && ['Running', 'Finished'].includes(lines[row + 1]);
  });
}

/** Runs in the page: the short id of the newest trace whose name starts with the prefix, or null. */
function newestTrace(prefix) {
  const ids = [...document.querySelectorAll('.trace-name-content')]
    .filter(name => name.innerText.trim().startsWith(prefix))
    .map(name => name.querySelector('.trace-id')?.innerText.trim())
    .filter(Boolean);
  return ids.at(-1) ?? null; // the list is oldest first
}

/** Starts headless Chromium with a throwaway profile; the DevTools port is chosen by Chromium (port 0). */
async function startChromium() {
  const profile = mkdtempSync(join(tmpdir(), 'dashboard-screenshot-'));
  const args = [
    '--headless=new', '--remote-debugging-port=0', `--user-data-dir=${profile}`, `--window-size=${width},${height}`,
    '--hide-scrollbars', '--no-first-run', '--no-default-browser-check', '--disable-gpu', 'about:blank',
  ];
  if (process.getuid?.() === 0) args.unshift('--no-sandbox'); // Chromium refuses to run as root with its sandbox
  const child = spawn(process.env.CHROMIUM ?? 'chromium', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', chunk => { stderr = (stderr + chunk).slice(-4000); });
  const exited = new Promise(resolve => child.once('exit', resolve));
  const close = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(profile, { recursive: true, force: true });
  };

  try {
    // Chromium writes the port it listens on (first line) into the profile once DevTools is up.
    const portFile = join(profile, 'DevToolsActivePort');
    const port = await poll(() => {
      if (child.exitCode !== null) throw new Error(`Chromium exited with ${child.exitCode}:\n${stderr}`);
      const lines = existsSync(portFile) ? readFileSync(portFile, 'utf8').split('\n') : [];
      return lines.length > 1 ? lines[0] : null;
    }, 30_000, 'Chromium DevTools');
    return { openPage: () => openPage(port), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Connects to Chromium's first page target and returns send/evaluate/navigate/waitFor over that connection. */
async function openPage(port) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const socket = new WebSocket(targets.find(target => target.type === 'page').webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = () => reject(new Error('Could not connect to the Chromium page.'));
  });
  let lastId = 0;
  const pending = new Map();
  socket.onmessage = event => {
    const message = JSON.parse(event.data);
    const reply = pending.get(message.id);
    if (!reply) return; // an event; none is needed
    pending.delete(message.id);
    if (message.error) reply.reject(new Error(`${reply.method}: ${message.error.message}`));
    else reply.resolve(message.result);
  };

  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = ++lastId;
    pending.set(id, { method, resolve, reject });
    socket.send(JSON.stringify({ id, method, params }));
  });
  const evaluate = async expression => {
    const { result, exceptionDetails } = await send('Runtime.evaluate', { expression, returnByValue: true });
    if (exceptionDetails) throw new Error(`In the page: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value;
  };
  return {
    send,
    evaluate,
    navigate: async url => {
      const { errorText } = await send('Page.navigate', { url });
      if (errorText) throw new Error(`${url}: ${errorText}`);
    },
    /** Polls a page expression until it is truthy (the dashboard draws after its live connection opens). */
    waitFor: (expression, what) => poll(() => evaluate(expression).catch(() => null), timeoutMs, what),
  };
}

async function poll(check, limitMs, what) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${limitMs / 1000} s waiting for ${what}.`);
    await sleep(250);
  }
}
