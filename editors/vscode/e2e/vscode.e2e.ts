// The extension in a real VS Code: code-server 4.100.3 (VS Code 1.100.3)
// with the built cachelens.vsix installed, driven through Debian's
// chromium by playwright-core, against the real cachelens server and a
// real run of the example program. It asserts on what the page shows and
// saves a screenshot of each step in a folder it names in its output.
//
// Pieces: CACHELENS_CODE_SERVER (default: where e2e/install-code-server.sh
// puts it), CACHELENS_CHROMIUM (default /usr/bin/chromium), CACHELENS_BIN
// (default: built with go build). Without them the test skips, unless
// CACHELENS_REQUIRE_VSCODE is set (CI sets it), where it fails.
import { test, TestContext } from "node:test";
import * as assert from "node:assert/strict";
import * as child from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Browser, Page } from "playwright-core";

const repo = path.resolve(__dirname, "../../../..");
const extensionDir = path.resolve(__dirname, "../..");
const codeServer =
  process.env.CACHELENS_CODE_SERVER || path.join(os.homedir(), ".cache/cachelens-e2e/code-server-4.100.3/node_modules/.bin/code-server");
const chromiumPath = process.env.CACHELENS_CHROMIUM || "/usr/bin/chromium";

function missing(): string {
  if (!fs.existsSync(codeServer)) {
    return `code-server is not installed at ${codeServer} (run editors/vscode/e2e/install-code-server.sh)`;
  }
  if (!fs.existsSync(chromiumPath)) {
    return `chromium is not installed at ${chromiumPath} (apt-get install chromium)`;
  }
  return "";
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function run(cmd: string, args: string[], opts: child.ExecFileSyncOptions = {}): string {
  try {
    return child.execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000, ...opts }) as string;
  } catch (e: any) {
    throw new Error(`${cmd} ${args.join(" ")}: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

async function until<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined | false>, last?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` + (last ? `\nthe page shows: ${await last()}` : ""));
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

// findFiles lists the files under dir whose path satisfies want.
function findFiles(dir: string, want: (p: string) => boolean): string[] {
  if (!fs.existsSync(dir)) {
    return [];
  }
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((f) => path.join(dir, f)).filter(want);
}

function tail(text: string, lines: number): string {
  return text.split("\n").slice(-lines).join("\n");
}

// The example program's own account of each cache: "main.loadCatalogUncached   8 hits   3 misses   0 uncached  (73% hit rate".
const cacheLine = /^(\S+)\s+(\d+) hits\s+(\d+) misses\s+(\d+) uncached\s+\((\d+)% hit rate/gm;

function plural(n: number, one: string, many: string): string {
  return n === 1 ? one : many;
}

test("the extension in real VS Code (code-server)", { timeout: 600_000 }, async (t: TestContext) => {
  const why = missing();
  if (why) {
    if (process.env.CACHELENS_REQUIRE_VSCODE) {
      assert.fail(why);
    }
    t.skip(why);
    return;
  }
  const { chromium } = await import("playwright-core");
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "cachelens-vscode-e2e-")));
  const shots = process.env.CACHELENS_E2E_SHOTS || path.join(root, "screenshots");
  fs.mkdirSync(shots, { recursive: true });
  t.diagnostic(`screenshots: ${shots}`);
  console.log(`screenshots of each step: ${shots}`);

  // The server binary, the .vsix and a workspace with the example.
  let bin = process.env.CACHELENS_BIN || "";
  if (!bin) {
    bin = path.join(root, "cachelens");
    run("go", ["build", "-o", bin, "./cmd/cachelens"], { cwd: repo });
  }
  const vsix = path.join(extensionDir, "cachelens.vsix");
  if (!fs.existsSync(vsix)) {
    run("npm", ["run", "package", "--silent"], { cwd: extensionDir });
  }
  const ws = path.join(root, "catalog");
  fs.mkdirSync(ws);
  const mainGo = path.join(ws, "main.go");
  fs.copyFileSync(path.join(repo, "example/catalog/main.go"), mainGo);
  fs.copyFileSync(path.join(repo, "go.sum"), path.join(ws, "go.sum"));
  fs.writeFileSync(
    path.join(ws, "go.mod"),
    `module example.com/catalog\n\ngo 1.26\n\nrequire github.com/cachelens/cachelens v0.0.0\n\nreplace github.com/cachelens/cachelens => ${repo}\n`,
  );
  run("go", ["mod", "tidy"], { cwd: ws });
  const src = fs.readFileSync(mainGo, "utf8");
  const lineOf = (s: string) => src.split("\n").findIndex((l) => l.includes(s)) + 1;

  // A runtime directory of the test's own, shared by the server (started
  // by VS Code) and the program: the program finds the server there.
  const rt = path.join(root, "rt");
  fs.mkdirSync(rt, { mode: 0o700 });
  const env = { ...process.env, XDG_RUNTIME_DIR: rt };
  const user = path.join(root, "user");
  const exts = path.join(root, "extensions");
  fs.mkdirSync(path.join(user, "User"), { recursive: true });
  // code-server's window is a remote window: VS Code applies a machine
  // setting such as cachelens.server.path from the Remote settings
  // (user-data-dir/Machine), not from the User settings, which it applies
  // only until the extension's settings are registered (a race the test
  // once lost) — where a user of code-server or Remote-SSH sets it too.
  fs.mkdirSync(path.join(user, "Machine"), { recursive: true });
  fs.writeFileSync(path.join(user, "Machine", "settings.json"), JSON.stringify({ "cachelens.server.path": bin }, null, 2));
  fs.writeFileSync(
    path.join(user, "User", "settings.json"),
    JSON.stringify(
      {
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": false,
        "workbench.enableExperiments": false,
        "security.workspace.trust.enabled": false,
        "telemetry.telemetryLevel": "off",
        "extensions.autoUpdate": false,
        "extensions.autoCheckUpdates": false,
        "editor.inlayHints.enabled": "on",
        "editor.hover.delay": 100,
        "files.hotExit": "off",
        "window.restoreWindows": "none",
      },
      null,
      2,
    ),
  );
  run(codeServer, ["--extensions-dir", exts, "--user-data-dir", user, "--install-extension", vsix], { env });

  const port = await freePort();
  const csLog = fs.openSync(path.join(root, "code-server.log"), "w");
  const cs = child.spawn(
    codeServer,
    ["--auth", "none", "--bind-addr", `127.0.0.1:${port}`, "--disable-telemetry", "--disable-update-check", "--disable-workspace-trust",
      "--extensions-dir", exts, "--user-data-dir", user, ws],
    { env, stdio: ["ignore", csLog, csLog], detached: true },
  );
  let browser: Browser | undefined;
  let broken = "";
  try {
    await until("code-server to listen", 60_000, async () => fs.readFileSync(path.join(root, "code-server.log"), "utf8").includes("HTTP server listening"));
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    let shotN = 0;
    const shot = async (name: string) => {
      shotN++;
      await page.screenshot({ path: path.join(shots, `${String(shotN).padStart(2, "0")}-${name}.png`) });
    };
    const vscode = new Workbench(page);
    // Each step builds on the one before: after a failure the rest are
    // skipped rather than fail for the same reason.
    const step = async (name: string, f: () => Promise<void>) => {
      if (broken) {
        await t.test(name, { skip: `after "${broken}" failed` }, () => {});
        return;
      }
      await t.test(name, async () => {
        try {
          await f();
        } catch (e) {
          broken = name;
          await shot("failed").catch(() => {});
          throw e;
        }
      });
    };
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);

    await step("opens the workspace and shows the static diagnostics", async () => {
      await page.waitForSelector(".monaco-workbench", { timeout: 120_000 });
      await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "main.go" }).first().click({ timeout: 60_000 });
      await page.waitForSelector(".monaco-editor .view-lines", { timeout: 30_000 });
      await vscode.command("View: Focus Problems");
      const rows = await until(
        "the static checks' diagnostics in the Problems panel",
        120_000,
        async () => {
          const r = await vscode.problems();
          return r.some((l) => l.includes("cannot be hashed")) && r.some((l) => l.includes("changes the result cached by loadCatalog")) && r;
        },
        async () => (await vscode.problems()).join(" | "),
      );
      assert.ok(rows.every((r) => !/Untitled/.test(r)));
      await shot("static-diagnostics");
    });

    const programOut = run("go", ["run", "."], { cwd: ws, env });
    const caches = [...programOut.matchAll(cacheLine)];
    assert.equal(caches.length, 3, programOut);

    await step("shows each cache's counts from the run in a code lens", async () => {
      const defLine: Record<string, number> = {
        "main.loadCatalogUncached": lineOf("var loadCatalog ="),
        "main.searchUncached": lineOf("var search ="),
        "main.notifyUncached": lineOf("var notify ="),
      };
      for (const m of caches) {
        const [, name, h, mi, , rate] = m;
        const want = `cache · ${h} ${plural(+h, "hit", "hits")} · ${mi} ${plural(+mi, "miss", "misses")} (${rate}%)`;
        assert.ok(defLine[name], `unknown cache ${name} in\n${programOut}`);
        await vscode.goToLine(defLine[name]);
        await until(`the lens "${want}"`, 30_000, async () => (await vscode.lenses()).some((l) => l.startsWith(want)), async () => (await vscode.lenses()).join(" | "));
      }
      // A run that ended is what the status bar says, not "0 programs".
      const status = await until("the status to count the run", 15_000, async () => {
        const s = await vscode.statusItem("cachelens");
        return /cachelens: 1 run\b/.test(s) && s;
      }, () => vscode.statusItem("cachelens"));
      assert.match(status, /1 run, (just now|\d+ s ago)/);
      await vscode.goToLine(lineOf("var loadCatalog ="));
      await shot("code-lenses");
    });

    await step("shows each call site's counts in an inlay hint", async () => {
      const site = lineOf(`loadCatalog("us")`);
      await vscode.goToLine(site);
      const hints = await until("inlay hints at the call sites", 30_000, async () => {
        const h = await vscode.inlayHints();
        return h.length > 0 && h;
      });
      // loadCatalog("us") ran once: a miss.
      assert.ok(hints.includes("0 hits · 1 miss"), hints.join(" | "));
      await shot("inlay-hints");
    });

    await step("hover shows the table", async () => {
      await vscode.goToLine(lineOf("var loadCatalog ="), 6);
      await vscode.command("Show or Focus Hover");
      const text = await until("the hover", 20_000, async () => {
        const h = await page.locator(".monaco-hover:visible").first().textContent({ timeout: 1000 }).catch(() => "");
        return h && h.includes("hit rate") && h;
      });
      assert.match(text!, /^cache loadCatalog of main.loadCatalogUncached/);
      assert.match(text!, /hits\s*8/);
      await shot("hover");
      await page.keyboard.press("Escape");
    });

    await step("a lens click shows the details without creating a document", async () => {
      await vscode.goToLine(lineOf("var loadCatalog ="));
      await page.locator(".codelens-decoration a", { hasText: "cache · 8 hits" }).first().click();
      await until("the details view", 20_000, async () => (await vscode.tabs()).some((tb) => tb.startsWith("cache ")), async () => (await vscode.tabs()).join(" | "));
      await page.waitForTimeout(1000);
      await shot("lens-details");
      const tabs = await vscode.tabs();
      assert.ok(!tabs.some((tb) => /Untitled/.test(tb)), tabs.join(" | "));
      // A second click reuses the view.
      await page.locator(".codelens-decoration a", { hasText: "cache · 8 hits" }).first().click();
      await page.waitForTimeout(1000);
      const again = await vscode.tabs();
      assert.equal(again.filter((tb) => tb.startsWith("cache ")).length, 1, again.join(" | "));
      assert.ok(!again.some((tb) => /Untitled/.test(tb)), again.join(" | "));
      await vscode.command("View: Close All Editor Groups");
      await page.locator(".explorer-folders-view .monaco-list-row", { hasText: "main.go" }).first().click();
    });

    await step("a quick fix applied with Ctrl+. edits the code, which builds", async () => {
      const line = lineOf(`applyDiscount(loadCatalog("eu"))`);
      await vscode.goToLine(line, 2);
      await page.keyboard.press("Control+.");
      const items = await until("the quick fix menu", 20_000, async () => {
        const it = await page.locator(".action-widget .monaco-list-row").allTextContents();
        return it.some((x) => x.includes("Work on a copy")) && it;
      });
      await shot("quick-fix-menu");
      // Move to the fix with the keyboard.
      const want = items.findIndex((x) => x.includes("Work on a copy"));
      const focused = async () => (await page.locator(".action-widget .monaco-list-row.focused").allTextContents())[0] ?? "";
      for (let i = 0; i < items.length && !(await focused()).includes("Work on a copy"); i++) {
        await page.keyboard.press("ArrowDown");
      }
      assert.ok((await focused()).includes("Work on a copy"), `focused ${await focused()}, items ${items.join(" | ")} (${want})`);
      await page.keyboard.press("Enter");
      await page.keyboard.press("Control+s");
      await until("the fix on disk", 20_000, async () => fs.readFileSync(mainGo, "utf8").includes(`applyDiscount(cacheruntime.Clone(loadCatalog("eu")))`));
      run("go", ["build", "-o", os.devNull, "./..."], { cwd: ws, env });
      await vscode.command("View: Focus Problems");
      await until("the fixed diagnostic to go", 60_000, async () => {
        const r = await vscode.problems();
        return !r.some((l) => l.includes("changes the result cached by loadCatalog")) && r.some((l) => l.includes("cannot be hashed"));
      }, async () => (await vscode.problems()).join(" | "));
      await shot("quick-fix-applied");
    });

    await step("reset statistics clears the counts", async () => {
      await vscode.goToLine(lineOf("var loadCatalog ="));
      await until("the lens before the reset", 20_000, async () => (await vscode.lenses()).some((l) => l.startsWith("cache · ")));
      await vscode.command("cachelens: Reset cache statistics");
      await until("the lenses to go", 20_000, async () => !(await vscode.lenses()).some((l) => l.startsWith("cache · ")), async () => (await vscode.lenses()).join(" | "));
      await shot("statistics-reset");
    });

    await step("restart brings the server back; its log has no errors", async () => {
      await vscode.command("cachelens: Restart the language server");
      await until("the status after the restart", 30_000, async () => /cachelens: /.test(await vscode.statusItem("cachelens")));
      // The new server checks the workspace again.
      await vscode.command("View: Focus Problems");
      await until("diagnostics from the new server", 120_000, async () => (await vscode.problems()).some((l) => l.includes("cannot be hashed")));
      await vscode.command("cachelens: Show the log");
      const log = await until("the log", 20_000, async () => {
        const text = (await page.locator(".part.panel .monaco-editor .view-line").allTextContents()).join("\n").replace(/\u00a0/g, " ");
        return text.includes("listening for programs") && text;
      });
      assert.match(log!, /\[info\] listening for programs/);
      assert.doesNotMatch(log!, /\[error\]/);
      await shot("restarted-log");
    });
  } catch (e) {
    console.log(`code-server log: ${path.join(root, "code-server.log")}`);
    throw e;
  } finally {
    // What the extension logged, for a failure seen only in CI's output.
    if (broken) {
      for (const f of findFiles(path.join(user, "logs"), (p) => p.endsWith(path.join("cachelens.cachelens", "cachelens.log")))) {
        console.log(`the extension's log (${f}):\n${tail(fs.readFileSync(f, "utf8"), 60)}`);
      }
      console.log(`code-server's log:\n${tail(fs.readFileSync(path.join(root, "code-server.log"), "utf8"), 30)}`);
    }
    await browser?.close();
    try {
      process.kill(-cs.pid!, "SIGTERM");
    } catch {
      // already gone
    }
    fs.closeSync(csLog);
  }
});

// Workbench reads and drives VS Code's page.
class Workbench {
  constructor(private page: Page) {}

  // command runs a command by its title from the command palette.
  async command(title: string): Promise<void> {
    await this.page.keyboard.press("F1");
    const input = this.page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible", timeout: 10_000 });
    await input.fill(">" + title);
    // The row whose label starts with the title (similar commands are
    // listed too, and the first row need not be the one meant).
    const row = this.page.locator(`.quick-input-widget .monaco-list-row[aria-label^=${JSON.stringify(title)}]`).first();
    try {
      await row.waitFor({ state: "visible", timeout: 10_000 });
    } catch (e) {
      const rows = await this.page.locator(".quick-input-widget .monaco-list-row").evaluateAll((els) => els.map((el) => el.getAttribute("aria-label")));
      throw new Error(`no command "${title}" among ${rows.join(" | ")}: ${e}`);
    }
    await row.click();
    await this.page.locator(".quick-input-widget").waitFor({ state: "hidden", timeout: 10_000 }).catch(() => {});
  }

  // goToLine moves the cursor to line (1-based) and column.
  async goToLine(line: number, column = 1): Promise<void> {
    await this.command("View: Focus Active Editor Group");
    await this.page.keyboard.press("Control+g");
    const input = this.page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible", timeout: 10_000 });
    await input.fill(`:${line}:${column}`);
    await input.press("Enter");
    await this.page.waitForTimeout(300);
  }

  async problems(): Promise<string[]> {
    return this.page.locator(".markers-panel .monaco-list-row").allTextContents();
  }

  async lenses(): Promise<string[]> {
    return this.page.locator(".monaco-editor .codelens-decoration").allTextContents();
  }

  // inlayHints returns the text of the hints in view: VS Code renders
  // them as injected text, spans styled by a dynamic rule ("dyn-rule-…"),
  // with spaces as no-break spaces.
  async inlayHints(): Promise<string[]> {
    return this.page.evaluate(() => {
      const out: string[] = [];
      for (const el of Array.from(document.querySelectorAll(".monaco-editor .view-line span"))) {
        const text = (el.textContent ?? "").replace(/\u00a0/g, " ").trim();
        if (el.children.length === 0 && /dyn-rule/.test((el as HTMLElement).className) && /^\d+ hits? · \d+ miss/.test(text)) {
          out.push(text);
        }
      }
      return out;
    });
  }

  async statusItem(text: string): Promise<string> {
    const items = await this.page.locator(".statusbar-item").allTextContents();
    return items.find((s) => s.includes(text))?.trim() ?? "";
  }

  async tabs(): Promise<string[]> {
    const labels = await this.page.locator(".tabs-container .tab").evaluateAll((els) => els.map((e) => e.getAttribute("aria-label") ?? e.textContent ?? ""));
    return labels.map((s) => s.trim());
  }
}
