// Loads the packaged bundle (dist/extension.js) in Node with a stand-in
// for the vscode module, pointing at a real cachelens binary: the real
// vscode-languageclient starts the real server and initializes it. No VS
// Code download needed. CACHELENS_BIN names the binary; without it the
// test builds one from this repository with go build.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as child from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Module from "node:module";

function server(): string {
  if (process.env.CACHELENS_BIN) {
    return process.env.CACHELENS_BIN;
  }
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cachelens-vscode-")), "cachelens");
  child.execFileSync("go", ["build", "-o", out, "./cmd/cachelens"], { cwd: path.resolve(__dirname, "../../../.."), stdio: "inherit" });
  return out;
}

// fake builds an object on which any property is a no-op function that
// returns another such object, except for the overrides.
function fake(overrides: Record<string, any> = {}): any {
  const fn: any = function () {
    return fake();
  };
  return new Proxy(fn, {
    get(target, prop) {
      if (prop in overrides) {
        return overrides[prop as string];
      }
      if (prop === "then") {
        return undefined; // not a promise
      }
      if (prop === Symbol.toPrimitive) {
        return () => "";
      }
      if (prop === "dispose") {
        return () => {};
      }
      return fake();
    },
    apply() {
      return fake();
    },
  });
}

test("the bundle starts and initializes the real server", { timeout: 60000 }, async () => {
  const bin = server();
  // A runtime directory of its own: runs other programs left in the
  // shared one must not show in the status.
  const rt = fs.mkdtempSync(path.join(os.tmpdir(), "cachelens-rt-"));
  fs.chmodSync(rt, 0o700);
  process.env.XDG_RUNTIME_DIR = rt;
  const bundle = path.resolve(__dirname, "../../dist/extension.js");
  assert.ok(fs.existsSync(bundle), "run npm run build first");
  const lines: string[] = [];
  const commands = new Map<string, (...args: any[]) => any>();
  const status: any = { text: "", tooltip: "", command: "", show() {}, dispose() {} };
  const disposable = { dispose() {} };
  const emitter = () => () => disposable;
  // Every top-level name of the vscode API, as own properties (esbuild's
  // module interop copies them).
  const dts = fs.readFileSync(path.resolve(__dirname, "../../node_modules/@types/vscode/index.d.ts"), "utf8");
  const names = new Set<string>();
  for (const m of dts.matchAll(/^\t{0,1}export (?:namespace|class|enum|function|const|let|var) (\w+)/gm)) {
    names.add(m[1]);
  }
  const api: Record<string, any> = {};
  for (const n of names) {
    api[n] = fake();
  }
  const vscode = Object.assign(api, {
    version: "1.91.0",
    workspace: fake({
      getConfiguration: () => ({ get: (k: string, d: any) => (k === "server.path" ? bin : d) }),
      onDidChangeConfiguration: emitter(),
      workspaceFolders: [],
      textDocuments: [],
      onDidOpenTextDocument: emitter(),
      onDidChangeTextDocument: emitter(),
      onDidCloseTextDocument: emitter(),
      onDidSaveTextDocument: emitter(),
      onWillSaveTextDocument: emitter(),
      onDidChangeWorkspaceFolders: emitter(),
      onDidCreateFiles: emitter(),
      onDidDeleteFiles: emitter(),
      onDidRenameFiles: emitter(),
      onWillCreateFiles: emitter(),
      onDidChangeNotebookDocument: emitter(),
    }),
    window: fake({
      createOutputChannel: () => fake({ appendLine: (l: string) => lines.push(l), append: (l: string) => lines.push(l), info: (l: string) => lines.push(l), warn: (l: string) => lines.push("WARN " + l), error: (l: string) => lines.push("ERROR " + l), logLevel: 2 }),
      createStatusBarItem: () => status,
      showErrorMessage: async (m: string) => { lines.push("SHOW ERROR " + m); return undefined; },
    }),
    commands: fake({
      // Like VS Code, a second registration of one ID is an error.
      registerCommand: (id: string, f: (...args: any[]) => any) => {
        if (commands.has(id)) {
          throw new Error(`command '${id}' already exists`);
        }
        commands.set(id, f);
        return { dispose: () => commands.delete(id) };
      },
    }),
    StatusBarAlignment: { Left: 1, Right: 2 },
  });
  const load = (Module as any)._load;
  (Module as any)._load = function (request: string, ...rest: any[]) {
    if (request === "vscode") {
      return vscode;
    }
    return load.call(this, request, ...rest);
  };
  const ext = require(bundle);
  try {
    await ext.activate({ subscriptions: [] });
    assert.ok(commands.has("cachelens.restart") && commands.has("cachelens.resetStatistics"));
    // Started means the server answered initialize: the status bar shows
    // it running, with the count from its status notification.
    const waitStatus = async () => {
      for (let i = 0; i < 100 && !status.text.includes("cachelens:"); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(status.text, /cachelens: no runs yet/, "status " + status.text + "\n" + lines.join("\n"));
    };
    await waitStatus();
    // Reset goes to the real server as workspace/executeCommand and
    // comes back without an error.
    await commands.get("cachelens.resetStatistics")!();
    assert.ok(lines.includes("statistics reset"), lines.join("\n"));
    // Restart stops the server (stopping clears the count from the status)
    // and starts a new one, whose own notification brings the count back.
    await commands.get("cachelens.restart")!();
    await waitStatus();
    assert.ok(lines.filter((l) => l.startsWith("starting ")).length === 2, lines.join("\n"));
    // The client registered the server's own commands (for lens clicks)
    // beside the extension's, again after the restart.
    assert.ok(commands.has("cachelens.resetStats") && commands.has("cachelens.showDetails"), [...commands.keys()].join(" "));
    // The server's ordinary log lines (it says where it listens) are not
    // logged as errors.
    assert.ok(lines.some((l) => l.startsWith("listening for programs on ")), lines.join("\n"));
    assert.ok(!lines.some((l) => l.startsWith("ERROR ")), lines.join("\n"));
  } finally {
    await ext.deactivate();
    (Module as any)._load = load;
  }
  // Deactivation stops the server and unregisters everything.
  assert.equal(commands.size, 0, [...commands.keys()].join(" "));
});
