import { test } from "node:test";
import * as assert from "node:assert/strict";
import { activateWith, Client, ClientOptions, Host, Settings } from "../src/activate";
import { ServerCommand } from "../src/findServer";

class FakeClient implements Client {
  started = 0;
  stopped = 0;
  handlers = new Map<string, (p: any) => void>();
  requests: [string, any][] = [];
  constructor(public server: ServerCommand, public options: ClientOptions) {}
  async start() {
    this.started++;
  }
  async stop() {
    this.stopped++;
  }
  onNotification(method: string, f: (p: any) => void) {
    this.handlers.set(method, f);
    return { dispose: () => this.handlers.delete(method) };
  }
  async sendRequest(method: string, params: any) {
    this.requests.push([method, params]);
    return null;
  }
}

function fakeHost(over: Partial<Settings> = {}, executables = ["/usr/local/bin/cachelens"]) {
  const commands = new Map<string, (...a: any[]) => unknown>();
  const lines: string[] = [];
  const errors: string[] = [];
  const markdown: string[] = [];
  let settingsChanged: () => void = () => {};
  const settings: Settings = {
    serverPath: "", codeLenses: true, inlayHints: false, runtimeDiagnostics: true, socket: "",
    prometheus: { url: "http://prom:9090", matchers: 'job="shop"', window: "24h" }, productionLine: true, ...over,
  };
  const item = { text: "", tooltip: "", command: "", shown: false, show() { this.shown = true; }, dispose() {} };
  const host: Host = {
    settings: () => settings,
    onSettingsChanged: (f) => { settingsChanged = f; return { dispose() {} }; },
    outputChannel: () => ({ appendLine: (l: string) => lines.push(l), show() {}, dispose() {} }),
    statusItem: () => item,
    registerCommand: (id, f) => { commands.set(id, f); return { dispose: () => commands.delete(id) }; },
    showError: async (m) => { errors.push(m); return undefined; },
    showMarkdown: async (_t, md) => { markdown.push(md); },
    openSettings: async () => {},
    env: { PATH: "/usr/local/bin" },
    home: "/home/ann",
    platform: "linux",
    isExecutable: (p) => executables.includes(p),
  };
  return { host, commands, lines, errors, markdown, item, settings, changeSettings: () => settingsChanged() };
}

test("activation starts the server for Go files with the settings", async () => {
  const h = fakeHost();
  const clients: FakeClient[] = [];
  const ext = await activateWith(h.host, (s, o) => { const c = new FakeClient(s, o); clients.push(c); return c; });
  assert.equal(clients.length, 1);
  const c = clients[0];
  assert.deepEqual(c.server, { command: "/usr/local/bin/cachelens", args: ["serve"] });
  assert.deepEqual(c.options.documentSelector, [{ scheme: "file", language: "go" }]);
  assert.deepEqual(c.options.initializationOptions, {
    codeLenses: true, inlayHints: false, runtimeDiagnostics: true, socket: "",
    prometheus: { url: "http://prom:9090", matchers: 'job="shop"', window: "24h" }, productionLine: true,
  });
  assert.equal(c.options.configurationSection, "cachelens");
  assert.equal(c.started, 1);
  assert.equal(ext.state, "running");
  for (const id of ["cachelens.restart", "cachelens.resetStatistics", "cachelens.showOutput"]) {
    assert.ok(h.commands.has(id), id);
  }
  assert.ok(h.item.shown);
  // The status bar follows the server's notifications.
  c.handlers.get("cachelens/status")!({ listening: true, running: 3, processes: 4, functions: 2 });
  assert.equal(h.item.text, "$(pulse) cachelens: 3 programs running");
  await ext.dispose();
});

test("commands: restart and reset", async () => {
  const h = fakeHost();
  const clients: FakeClient[] = [];
  const ext = await activateWith(h.host, (s, o) => { const c = new FakeClient(s, o); clients.push(c); return c; });
  await h.commands.get("cachelens.resetStatistics")!();
  assert.deepEqual(clients[0].requests, [["workspace/executeCommand", { command: "cachelens.resetStats", arguments: [] }]]);
  await h.commands.get("cachelens.restart")!();
  assert.equal(clients[0].stopped, 1);
  assert.equal(clients.length, 2);
  assert.equal(clients[1].started, 1);
  await ext.dispose();
});

test("a lens click shows the server's details", async () => {
  const h = fakeHost();
  let client: FakeClient | undefined;
  const ext = await activateWith(h.host, (s, o) => (client = new FakeClient(s, o)));
  const result = await client!.options.executeCommand("cachelens.showDetails", ["/a.go", 3], async () => ({ title: "t", markdown: "| hits | 4 |" }));
  assert.deepEqual(result, { title: "t", markdown: "| hits | 4 |" });
  assert.deepEqual(h.markdown, ["| hits | 4 |"]);
  await ext.dispose();
});

test("a missing server: a clear message, no client", async () => {
  const h = fakeHost({}, []);
  let made = 0;
  const ext = await activateWith(h.host, (s, o) => { made++; return new FakeClient(s, o); });
  assert.equal(made, 0);
  assert.equal(ext.state, "missing");
  assert.match(h.errors[0], /in a clone of https:\/\/github.com\/cachelens\/cachelens run: go install \.\/cmd\/cachelens/);
  assert.match(h.item.text, /warning/);
  await ext.dispose();
});

test("a missing server: activation does not wait for the message to be answered", async () => {
  const h = fakeHost({}, ["/opt/cachelens"]);
  h.host.showError = (m) => { h.errors.push(m); return new Promise(() => {}); };
  const clients: FakeClient[] = [];
  const ext = await activateWith(h.host, (s, o) => { const c = new FakeClient(s, o); clients.push(c); return c; });
  assert.equal(ext.state, "missing");
  // The path arrives later (a setting loaded or fixed): the server starts.
  h.settings.serverPath = "/opt/cachelens";
  h.changeSettings();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(clients.length, 1);
  assert.equal(ext.state, "running");
  await ext.dispose();
});

test("changing the server path restarts the server", async () => {
  const h = fakeHost({}, ["/usr/local/bin/cachelens", "/opt/cachelens"]);
  const clients: FakeClient[] = [];
  const ext = await activateWith(h.host, (s, o) => { const c = new FakeClient(s, o); clients.push(c); return c; });
  h.settings.serverPath = "/opt/cachelens";
  h.changeSettings();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(clients.length, 2);
  assert.equal(clients[1].server.command, "/opt/cachelens");
  // Other settings do not restart it (they reach the server as configuration).
  h.settings.codeLenses = false;
  h.changeSettings();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(clients.length, 2);
  await ext.dispose();
});

test("a server that fails to start", async () => {
  const h = fakeHost();
  const ext = await activateWith(h.host, (s, o) => {
    const c = new FakeClient(s, o);
    c.start = async () => { throw new Error("boom"); };
    return c;
  });
  assert.equal(ext.state, "failed");
  assert.ok(h.lines.some((l) => l.includes("boom")));
  await ext.dispose();
});
