// Headless Chromium (Debian's, driven by npm's playwright-core) signs in to Open WebUI through
// the provider's login page, once per account, each in a fresh browser context.
//
//   node signin.mjs CONFIG.json    prints one JSON line: {auth: {...}, results: [...]}
//
// CONFIG: {npmDir, chromium, webuiUrl, resolve: {host: "ip:port"}, buttonText, shots, logins:
// [{login, password, shot}]}. Every host name is mapped to a loopback address by Chromium's own
// resolver; nothing leaves 127.0.0.0/8.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const require = createRequire(join(config.npmDir, 'package.json'));
const { chromium } = require('playwright-core');

const rules = Object.entries(config.resolve).map(([host, to]) => `MAP ${host} ${to}`);
const browser = await chromium.launch({
  executablePath: config.chromium,
  headless: true,
  timeout: 60_000,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--host-resolver-rules=${rules.join(',')},EXCLUDE localhost`,
    '--proxy-server=direct://',
  ],
});
const out = { auth: null, results: [] };
// The app keeps a websocket open (never 'networkidle'): wait for its element, then let it paint.
const settle = (page) => page.waitForTimeout(1500);
try {
  for (const account of config.logins) {
    // Traefik's default certificate and the provider's self-signed one.
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.setDefaultTimeout(45_000);
    const result = { login: account.login };
    try {
      await page.goto(`${config.webuiUrl}/auth`);
      const button = page.getByRole('button', { name: config.buttonText });
      await button.waitFor();
      if (out.auth === null) {
        await settle(page);
        out.auth = {
          passwordInputs: await page.locator('input[type=password]').count(),
          emailInputs: await page.locator('input[type=email]').count(),
          buttons: (await page.getByRole('button').allInnerTexts()).map((t) => t.trim()).filter(Boolean),
        };
        await page.screenshot({ path: config.shots.auth });
      }
      await button.click();
      // The provider's own login page.
      await page.waitForSelector('input[name=login]');
      result.providerUrl = page.url();
      if (account.shot) await page.screenshot({ path: account.shot });
      await page.fill('input[name=login]', account.login);
      await page.fill('input[name=password]', account.password);
      await Promise.all([page.waitForURL((u) => u.href.startsWith(config.webuiUrl)), page.click('button[type=submit]')]);
      // Back at Open WebUI: /auth?error=… when refused, else the app takes the token cookie and
      // moves on from /auth.
      await page.waitForURL((u) => !u.pathname.startsWith('/auth') || u.searchParams.has('error'), { timeout: 45_000 });
      result.finalUrl = page.url();
      const cookies = await context.cookies(config.webuiUrl);
      result.token = cookies.find((c) => c.name === 'token')?.value ?? null;
      if (result.token && account.chatShot) {
        await page.locator('#chat-input').waitFor({ timeout: 45_000 });
        // The first sign-in of a user opens the release notes over the chat.
        await page.getByRole('button', { name: "Okay, Let's Go!" }).click({ timeout: 5_000 }).catch(() => {});
        await settle(page);
        await page.screenshot({ path: account.chatShot });
      }
      result.text = (await page.locator('body').innerText()).slice(0, 2000);
    } catch (err) {
      result.error = String(err);
      result.url = page.url();
    }
    out.results.push(result);
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
