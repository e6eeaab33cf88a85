// The VS Code entry point: adapts the real vscode API and
// vscode-languageclient to the wiring in activate.ts.
import * as fs from "fs";
import * as os from "os";
import * as readline from "readline";
import * as vscode from "vscode";
import { LanguageClient, TransportKind } from "vscode-languageclient/node";
import { activateWith, Client, ClientOptions, Extension, Host, Settings } from "./activate";
import { detailsPage, escapeHtml } from "./details";
import { classify } from "./log";
import { ServerCommand } from "./findServer";

let ext: Extension | undefined;
let details: vscode.WebviewPanel | undefined;

// showDetails shows a lens's details in one reused webview beside the
// editor (see details.ts).
async function showDetails(title: string, markdown: string): Promise<void> {
  let body: string;
  try {
    body = await vscode.commands.executeCommand<string>("markdown.api.render", markdown);
  } catch {
    body = `<pre>${escapeHtml(markdown)}</pre>`;
  }
  if (!details) {
    details = vscode.window.createWebviewPanel("cachelens.details", title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: false,
      localResourceRoots: [],
    });
    details.onDidDispose(() => (details = undefined));
  } else {
    details.reveal(vscode.ViewColumn.Beside, true);
  }
  details.title = title;
  details.webview.html = detailsPage(title, body);
}

function settings(): Settings {
  const c = vscode.workspace.getConfiguration("cachelens");
  return {
    serverPath: c.get<string>("server.path", ""),
    codeLenses: c.get<boolean>("codeLenses", true),
    inlayHints: c.get<boolean>("inlayHints", true),
    runtimeDiagnostics: c.get<boolean>("runtimeDiagnostics", true),
    socket: c.get<string>("socket", ""),
    prometheus: {
      url: c.get<string>("prometheus.url", ""),
      matchers: c.get<string>("prometheus.matchers", ""),
      window: c.get<string>("prometheus.window", "24h"),
    },
    productionLine: c.get<boolean>("productionLine", true),
  };
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

const host: Host = {
  settings,
  onSettingsChanged: (f) =>
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("cachelens")) {
        f();
      }
    }),
  outputChannel: (name) => vscode.window.createOutputChannel(name, { log: true }),
  statusItem: () => {
    const item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
    return item as unknown as ReturnType<Host["statusItem"]>;
  },
  registerCommand: (id, f) => vscode.commands.registerCommand(id, f),
  showError: async (message, ...actions) => vscode.window.showErrorMessage(message, ...actions),
  showMarkdown: showDetails,
  openSettings: async (query) => {
    await vscode.commands.executeCommand("workbench.action.openSettings", query);
  },
  env: process.env,
  home: os.homedir(),
  platform: process.platform,
  isExecutable,
  remoteName: vscode.env.remoteName,
};

function makeClient(server: ServerCommand, o: ClientOptions): Client {
  const client = new LanguageClient(
    "cachelens",
    "cachelens",
    { command: server.command, args: server.args, transport: TransportKind.stdio },
    {
      documentSelector: o.documentSelector,
      initializationOptions: o.initializationOptions,
      outputChannel: o.outputChannel as vscode.LogOutputChannel,
      synchronize: { configurationSection: o.configurationSection },
      middleware: { executeCommand: (command, args, next) => o.executeCommand(command, args, async (c, a) => next(c, a)) },
      // The server's log lines at their own levels (the default logs all
      // of stderr as errors).
      stdioOptions: {
        stdout: (input, channel) => {
          readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on("line", (l) => channel.info(l));
        },
        stderr: (input, channel) => {
          readline.createInterface({ input, crlfDelay: Infinity, terminal: false }).on("line", (l) => {
            const { level, text } = classify(l);
            channel[level](text);
          });
        },
      },
    },
  );
  return {
    start: () => client.start(),
    stop: () => client.stop(),
    onNotification: (method, f) => client.onNotification(method, f),
    sendRequest: (method, params) => client.sendRequest(method, params),
  };
}

export async function activate(_context: vscode.ExtensionContext): Promise<void> {
  ext = await activateWith(host, makeClient);
}

export async function deactivate(): Promise<void> {
  details?.dispose();
  await ext?.dispose();
  ext = undefined;
}
