// The dashboard in a real browser: Debian's Chromium, driven by playwright-core (no browser
// download), against real nodes on SQLite. It checks that the page lists the configured jobs,
// that a trigger with an operate token makes a manual run appear, that a bad token and a read
// token are refused with the API's message, that job output is shown as text (a <script> in it
// never runs), that a phone-width screen does not scroll sideways, and that 10,000 jobs are
// paged. It saves screenshots into OUTDIR.
//
// usage: node dashboard_test.js /path/to/solocron OUTDIR
'use strict';
const { chromium } = require('playwright-core');
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [bin, outDir] = process.argv.slice(2);
const OPERATE = 'alice-dashboard-operate-0123456789';
const READ = 'bob-dashboard-read-abcdefghijklmno';
const JOBS = [
  ['backup', '*/2 * * * * *', '["sh", "-c", "echo backed up"]'],
  ['flaky', '*/3 * * * * *', '["sh", "-c", "echo \'<script>alert(1)</script><img src=x onerror=alert(2)>\'; exit 1"]'],
  ['report', '0 7 * * 1-5', '["true"]', 'Europe/Berlin'],
  ['yearly', '0 0 1 1 *', '["true"]'],
];

const failures = [];
const nodes = [];
function check(cond, what) {
  if (!cond) {
    failures.push(what);
    console.log('FAIL: ' + what);
  }
}

function yaml(jobs, tokens) {
  let out = 'node:\n  heartbeat: 500ms\n  node_ttl: 3s\n' + (tokens ? '  api_tokens_file: ' + tokens + '\n' : '') + 'jobs:\n';
  for (const [name, schedule, command, zone] of jobs) {
    out += '  - name: ' + name + '\n    schedule: "' + schedule + '"\n    command: ' + command + '\n' + (zone ? '    time_zone: ' + zone + '\n' : '');
  }
  return out;
}

async function startNode(work, name, config) {
  const cfg = path.join(work, name + '.yaml');
  fs.writeFileSync(cfg, config);
  const logPath = path.join(work, name + '.log');
  const log = fs.openSync(logPath, 'w');
  const child = spawn(bin, ['run', '--config', cfg, '--store', 'sqlite:' + path.join(work, name + '.db'), '--node-id', name,
    '--http', '127.0.0.1:0'], { stdio: ['ignore', log, log] });
  nodes.push({ child, logPath });
  for (let i = 0; i < 600; i++) {
    const m = fs.readFileSync(logPath, 'utf8').match(/on port ([0-9]+)/);
    if (m && fs.readFileSync(logPath, 'utf8').includes('node_started')) return 'http://127.0.0.1:' + m[1] + '/';
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(name + ' did not start: ' + fs.readFileSync(logPath, 'utf8'));
}

async function stopNodes() {
  for (const n of nodes) {
    if (n.child.exitCode !== null) continue;
    const exited = new Promise((r) => n.child.once('exit', (code) => r(code)));
    n.child.kill('SIGTERM');
    check(await exited === 0, 'a node exits 0 on SIGTERM');
  }
}

// Types a token into the page's token form and submits it.
async function giveToken(page, token) {
  await page.waitForSelector('#token-form:not([hidden])');
  await page.fill('#token-input', token);
  await page.click('#token-save');
}

async function alertText(page, needle) {
  try {
    await page.waitForFunction((n) => { const a = document.getElementById('alert'); return !a.hidden && a.textContent.includes(n); }, needle, { timeout: 10000 });
  } catch (e) { /* reported below */ }
  return page.textContent('#alert');
}

async function testJobsAndTrigger(browser, url) {
  // A viewer in New York: "yours" is another zone than the job's.
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, timezoneId: 'America/New_York' });
  const dialogs = [];
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForSelector('#jobs tbody tr');
  const names = await page.$$eval('#jobs tbody tr', (rows) => rows.map((r) => r.getAttribute('data-job')));
  check(JSON.stringify(names) === JSON.stringify(JOBS.map((j) => j[0]).sort()), 'the page lists the configured jobs: ' + names);
  const report = await page.textContent('#jobs tr[data-job="report"]');
  check(report.includes('At 07:00, Monday through Friday') && report.includes('7:00:00 AM Europe/Berlin') &&
    report.includes('1:00:00 AM (yours)'),
    'schedule in plain English, next fire in the job\'s zone and the viewer\'s: ' + report);
  await page.waitForSelector('#jobs tr[data-job="backup"] .sq.s-succeeded', { timeout: 15000 });
  await page.screenshot({ path: path.join(outDir, 'dashboard.png') });

  await page.click('#jobs a[href="#/jobs/backup"]');
  await page.waitForSelector('#trigger');
  await page.click('#trigger');
  await giveToken(page, 'not-a-token-of-this-node-0000');
  let alert = await alertText(page, 'refused');
  check(alert.includes('refused') && alert.includes('not valid'), 'a bad token shows the error: ' + alert);
  await page.click('#trigger');  // the refused token was forgotten: asked again
  await giveToken(page, READ);
  alert = await alertText(page, 'role read');
  check(alert.includes('refused') && alert.includes('role read'), 'a read token is refused: ' + alert);
  await page.click('#token-button');
  await page.click('#token-forget');
  await page.click('#trigger');
  await giveToken(page, OPERATE);
  alert = await alertText(page, 'done');
  check(alert.includes('done'), 'a trigger with the operate token is accepted: ' + alert);
  try {
    await page.waitForSelector('#history tr[data-trigger="manual"][data-state="succeeded"]', { timeout: 20000 });
  } catch (e) {
    check(false, 'the triggered run appears in the history');
  }
  const manual = await page.textContent('#history tr[data-trigger="manual"]').catch(() => '');
  check(manual.includes('by alice'), 'the run is alice\'s: ' + manual);
  await page.screenshot({ path: path.join(outDir, 'dashboard-job.png'), fullPage: true });

  await page.goto(url + '#/jobs/flaky');
  await page.waitForSelector('#history tr.record details', { timeout: 15000 });
  await page.click('#history tr.record details summary');
  const output = await page.textContent('#history tr.record details pre');
  check(output.includes('<script>alert(1)</script>'), 'output is shown as text: ' + output);
  check((await page.$$('#history script, #history img')).length === 0, 'output never becomes markup');

  await page.goto(url + '#/nodes');
  await page.waitForSelector('#nodes tbody tr');
  const nodesText = await page.textContent('#nodes');
  check(nodesText.includes('dash-1') && nodesText.includes('live'), 'the nodes view: ' + nodesText);
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().split(' ').pop();
  const versionCell = await page.textContent('#nodes tbody tr td[data-label="Version"]');
  check(versionCell === version, 'the node\'s version from its lease: ' + versionCell + ', not ' + version);
  check(dialogs.length === 0, 'no script of the output ran: ' + dialogs);
  check(errors.length === 0, 'no error in the page: ' + errors);
  await page.close();
}

async function testPhone(browser, url) {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
  await page.goto(url);
  await page.waitForSelector('#jobs tbody tr');
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, 'a phone-width screen does not scroll sideways: ' + width + ' px');
  await page.screenshot({ path: path.join(outDir, 'dashboard-phone.png'), fullPage: true });
  await page.close();
}

async function testManyJobs(browser, work) {
  const many = [];
  for (let i = 0; i < 10000; i++) many.push(['job-' + String(i).padStart(5, '0'), '0 0 1 1 *', '["true"]']);
  const url = await startNode(work, 'dash-many', yaml(many));
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url);
  await page.waitForFunction(() => (document.getElementById('job-count') || {}).textContent === '1-50 of 10000 jobs', null, { timeout: 30000 });
  check((await page.$$('#jobs tbody tr')).length === 50, '10,000 jobs: one page of 50 rows');
  await page.fill('#search', 'job-0999');
  await page.waitForFunction(() => (document.getElementById('job-count') || {}).textContent === '1-10 of 10 jobs', null, { timeout: 15000 });
  check((await page.$$('#jobs tbody tr')).length === 10, 'a search finds 10 of 10,000');
  await page.close();
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'solocron-dashboard.'));
  let browser = null;
  try {
    const tokens = path.join(work, 'tokens');
    fs.writeFileSync(tokens, 'operate alice ' + OPERATE + '\nread bob ' + READ + '\n', { mode: 0o600 });
    const url = await startNode(work, 'dash-1', yaml(JOBS, tokens));
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    await testJobsAndTrigger(browser, url);
    await testPhone(browser, url);
    await testManyJobs(browser, work);
  } catch (e) {
    check(false, 'the test ran to its end: ' + (e.stack || e));
  } finally {
    if (browser) await browser.close();
    await stopNodes();
    if (failures.length) for (const n of nodes) console.log('----- ' + n.logPath + '\n' + fs.readFileSync(n.logPath, 'utf8').split('\n').slice(-20).join('\n'));
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log('screenshots in ' + outDir + '; ' + failures.length + ' failure(s)');
  process.exit(failures.length ? 1 : 0);
}

main();
