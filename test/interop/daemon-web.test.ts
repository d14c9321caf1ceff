/**
 * The daemon's web interface in a real browser: headless Chromium (Debian's chromium, driven
 * by puppeteer-core) adds a .torrent by file upload and a magnet link from the page, sees
 * their progress reach 100 %, pauses one mid-download and resumes it; libtorrent seeds
 * through opentracker, the files are byte-identical, and a screenshot of the page is saved
 * under dist/test-output/ (its path is printed).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { compareTrees } from '../helpers/data.js';
import { seededSwarm, startDaemon, type DaemonProc } from '../helpers/daemon.js';
import { stopAll } from '../helpers/proc.js';
import { required, type Swarm } from '../helpers/swarm.js';

/** The page's document as the functions run inside the browser see it (the project compiles without the DOM library). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

const MiB = 1024 * 1024;
const CHROMIUM = '/usr/bin/chromium';
const outputDir = fileURLToPath(new URL('../../test-output/', import.meta.url));

describe('the web interface in headless Chromium', { timeout: 600_000 }, () => {
  let swarm: Swarm;
  let daemon: DaemonProc;
  let downloads: string;
  let profile: string;
  let browser: Browser | undefined;
  let page: Page;

  before(async () => {
    // 1 MiB/s: the pause lands in the middle of the first download.
    ({ swarm } = await seededSwarm('daemon-web', 8 * MiB, 1 * MiB));
    downloads = join(swarm.root, 'downloads');
    await mkdir(downloads, { recursive: true });
    daemon = await startDaemon({ configDir: join(swarm.root, 'config'), downloadDir: downloads });
    profile = await mkdtemp(join(tmpdir(), 'tessera-chromium-'));
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
      ],
      protocolTimeout: 120_000,
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 700 });
    page.on('dialog', (d) => void d.accept());
  });

  after(async () => {
    const pid = browser?.process()?.pid;
    await browser?.close().catch(() => undefined);
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await stopAll();
    await rm(profile, { recursive: true, force: true });
    await swarm?.dispose();
  });

  const rowOf = (hash: string): string => `tr[data-hash="${hash}"]`;
  const progressOf = (hash: string): Promise<string> => page.$eval(`${rowOf(hash)} .bar > em`, (e) => e.textContent ?? '');
  const waitText = (hash: string, selector: string, re: RegExp, timeout: number): Promise<unknown> =>
    page.waitForFunction((sel: string, src: string) => new RegExp(src).test(document.querySelector(sel)?.textContent ?? ''), { timeout, polling: 250 }, `${rowOf(hash)} ${selector}`, re.source);

  test('upload a .torrent from the page, pause and resume it, see 100 %', async () => {
    const single = required(swarm.single, 'single');
    await page.goto(daemon.url, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelector('#conn')?.textContent === 'live', { timeout: 30_000 });
    const input = await page.$('#torrent-file');
    await required(input ?? undefined, 'file input').uploadFile(single.torrentPath);
    await page.waitForSelector(rowOf(single.infoHashHex), { timeout: 30_000 });
    assert.equal(await page.$eval(`${rowOf(single.infoHashHex)} a.open`, (e) => e.textContent), 'single.bin');

    // Pause once some data is in, but well before the end.
    await page.waitForFunction((sel: string) => /^([1-9]|[1-7]\d)\.\d %$/.test(document.querySelector(sel)?.textContent ?? ''), { timeout: 120_000, polling: 100 }, `${rowOf(single.infoHashHex)} .bar > em`);
    await page.click(`${rowOf(single.infoHashHex)} button.toggle`);
    await waitText(single.infoHashHex, '.state', /^paused$/, 30_000);
    assert.equal(await page.$eval(`${rowOf(single.infoHashHex)} button.toggle`, (e) => e.textContent), 'Resume');
    const atPause = await progressOf(single.infoHashHex);
    assert.notEqual(atPause, '100.0 %', 'paused before the end');
    const rpc = await daemon.rpc('torrent-get', { ids: [single.infoHashHex], fields: ['status', 'peersConnected'] });
    assert.deepEqual(rpc.arguments.torrents, [{ status: 0, peersConnected: 0 }], 'the daemon stopped the torrent and closed its connections');

    await page.click(`${rowOf(single.infoHashHex)} button.toggle`);
    await waitText(single.infoHashHex, '.bar > em', /^100\.0 %$/, 180_000);
    await waitText(single.infoHashHex, '.state', /^seeding$/, 30_000);
    await compareTrees(join(swarm.dataDir, 'single.bin'), join(downloads, 'single.bin'));
  });

  test('add a magnet link from the page, see its files, 100 %, and a screenshot', async (t) => {
    const multi = required(swarm.multi, 'multi');
    const tracker = required(swarm.tracker, 'tracker');
    const magnet = `magnet:?xt=urn:btih:${multi.infoHashHex}&dn=tree&tr=${encodeURIComponent(tracker.httpUrl)}`;
    await page.type('#magnet', magnet);
    await page.click('#add-magnet button[type=submit]');
    await page.waitForSelector(rowOf(multi.infoHashHex), { timeout: 30_000 });
    await waitText(multi.infoHashHex, '.bar > em', /^100\.0 %$/, 180_000);
    await compareTrees(join(swarm.dataDir, 'tree'), join(downloads, 'tree'));

    await page.click(`${rowOf(multi.infoHashHex)} a.open`);
    await page.waitForFunction((n: number) => document.querySelectorAll('#files tbody tr').length === n, { timeout: 30_000 }, multi.files.length);
    const paths = await page.$$eval('#files tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(paths, multi.files.map((f) => `tree/${f.path}`));

    await mkdir(outputDir, { recursive: true });
    const shot = join(outputDir, 'daemon-web.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok((await stat(shot)).size > 1000);
    t.diagnostic(`screenshot: ${shot}`);
    console.log(`web interface screenshot: ${shot}`);
  });
});
