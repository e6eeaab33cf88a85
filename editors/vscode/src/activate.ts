// The extension's wiring, written against a small Host interface so it
// can be tested without VS Code (extension.ts adapts the real API).
import { findServer, installHint, ServerCommand } from "./findServer";
import { State, Status, statusText } from "./status";

export interface Disposable {
  dispose(): unknown;
}

export interface Settings {
  serverPath: string;
  codeLenses: boolean;
  inlayHints: boolean;
  runtimeDiagnostics: boolean;
  socket: string;
  prometheus: { url: string; matchers: string; window: string };
  productionLine: boolean;
}

export interface OutputChannel extends Disposable {
  appendLine(line: string): void;
  show(preserveFocus?: boolean): void;
}

export interface StatusItem extends Disposable {
  text: string;
  tooltip: string;
  command: string;
  show(): void;
}

export interface Host {
  settings(): Settings;
  onSettingsChanged(f: () => void): Disposable;
  outputChannel(name: string): OutputChannel;
  statusItem(): StatusItem;
  registerCommand(id: string, f: (...args: any[]) => unknown): Disposable;
  showError(message: string, ...actions: string[]): Promise<string | undefined>;
  showMarkdown(title: string, markdown: string): Promise<void>;
  openSettings(query: string): Promise<void>;
  env: Record<string, string | undefined>;
  home: string;
  platform: string;
  isExecutable(p: string): boolean;
  // remoteName is vscode.env.remoteName: empty in a local window.
  remoteName?: string;
}

// Client is the part of vscode-languageclient's LanguageClient in use.
export interface Client {
  start(): Promise<void>;
  stop(): Promise<void>;
  onNotification(method: string, f: (params: any) => void): Disposable;
  sendRequest(method: string, params: any): Promise<any>;
}

export interface ClientOptions {
  documentSelector: { scheme: string; language: string }[];
  initializationOptions: Omit<Settings, "serverPath">;
  outputChannel: OutputChannel;
  configurationSection: string;
  // executeCommand intercepts commands the server runs (code lens
  // clicks) to show their result.
  executeCommand: (command: string, args: any[], next: (command: string, args: any[]) => Promise<any>) => Promise<any>;
}

export type ClientFactory = (server: ServerCommand, options: ClientOptions) => Client;

export class Extension {
  client?: Client;
  state: State = "stopped";
  status?: Status;
  private disposables: Disposable[] = [];
  private notifications: Disposable[] = [];
  readonly output: OutputChannel;
  readonly item: StatusItem;
  private serverPath: string;

  constructor(private host: Host, private makeClient: ClientFactory) {
    this.output = host.outputChannel("cachelens");
    this.item = host.statusItem();
    this.item.command = "cachelens.showOutput";
    this.serverPath = host.settings().serverPath;
    // The IDs differ from the server's own commands (cachelens.resetStats,
    // cachelens.showDetails), which the language client registers itself:
    // VS Code refuses a second registration of the same ID.
    this.disposables.push(
      this.output,
      this.item,
      host.registerCommand("cachelens.restart", () => this.restart()),
      host.registerCommand("cachelens.resetStatistics", () => this.reset()),
      host.registerCommand("cachelens.showOutput", () => this.output.show(true)),
      host.onSettingsChanged(() => this.settingsChanged()),
    );
    // "1 run, 12 s ago" ages while nothing else changes.
    const tick = setInterval(() => this.render(), 5000);
    tick.unref?.();
    this.disposables.push({ dispose: () => clearInterval(tick) });
    this.render();
    this.item.show();
  }

  private render() {
    const { text, tooltip } = statusText(this.state, this.status);
    this.item.text = text;
    this.item.tooltip = tooltip;
  }

  private setState(s: State) {
    this.state = s;
    this.render();
  }

  async start(): Promise<void> {
    const settings = this.host.settings();
    const found = findServer({
      configured: settings.serverPath,
      env: this.host.env,
      home: this.host.home,
      platform: this.host.platform,
      isExecutable: (p) => this.host.isExecutable(p),
      remote: this.host.remoteName,
    });
    if ("error" in found) {
      this.output.appendLine(found.error);
      this.setState("missing");
      this.item.command = "cachelens.showOutput";
      // The message stays until the user answers it, which may be never:
      // activation (and a restart) must not wait for that.
      void this.host.showError(found.error, "Open Settings", "Copy Install Command").then(async (choice) => {
        if (choice === "Open Settings") {
          await this.host.openSettings("cachelens.server.path");
        } else if (choice === "Copy Install Command") {
          this.output.appendLine(installHint);
          this.output.show(true);
        }
      });
      return;
    }
    this.output.appendLine(`starting ${found.command} ${found.args.join(" ")}`);
    this.setState("starting");
    const { serverPath: _, ...init } = settings;
    const client = this.makeClient(found, {
      documentSelector: [{ scheme: "file", language: "go" }],
      initializationOptions: init,
      outputChannel: this.output,
      configurationSection: "cachelens",
      executeCommand: async (command, args, next) => {
        const result = await next(command, args);
        if (command === "cachelens.showDetails" && result && result.markdown) {
          await this.host.showMarkdown(result.title || "cachelens", result.markdown);
        }
        return result;
      },
    });
    this.client = client;
    this.notifications.push(
      client.onNotification("cachelens/status", (s: Status) => {
        this.status = s;
        this.render();
      }),
    );
    try {
      await client.start();
      this.setState("running");
    } catch (e) {
      this.output.appendLine(`the server failed to start: ${e}`);
      this.client = undefined;
      this.setState("failed");
    }
  }

  async stop(): Promise<void> {
    for (const d of this.notifications.splice(0)) {
      d.dispose();
    }
    const c = this.client;
    this.client = undefined;
    this.status = undefined;
    if (c) {
      try {
        await c.stop();
      } catch (e) {
        this.output.appendLine(`stopping the server: ${e}`);
      }
    }
    this.setState("stopped");
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async reset(): Promise<void> {
    if (!this.client) {
      return;
    }
    await this.client.sendRequest("workspace/executeCommand", { command: "cachelens.resetStats", arguments: [] });
    this.output.appendLine("statistics reset");
  }

  // Most settings reach the server through workspace/didChangeConfiguration
  // (the client's configurationSection); a new server path needs a restart.
  private async settingsChanged() {
    const p = this.host.settings().serverPath;
    if (p !== this.serverPath) {
      this.serverPath = p;
      await this.restart();
    }
  }

  async dispose(): Promise<void> {
    await this.stop();
    for (const d of this.disposables.splice(0)) {
      d.dispose();
    }
  }
}

export async function activateWith(host: Host, makeClient: ClientFactory): Promise<Extension> {
  const ext = new Extension(host, makeClient);
  await ext.start();
  return ext;
}
