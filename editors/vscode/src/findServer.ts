// Where the cachelens binary is: the configured path, else PATH, else
// $GOPATH/bin (~/go/bin by default).
import * as path from "path";

export interface ServerCommand {
  command: string;
  args: string[];
}

export interface Lookup {
  configured: string;
  env: Record<string, string | undefined>;
  home: string;
  platform: string;
  isExecutable: (p: string) => boolean;
  // remote names the remote a window is connected to (vscode.env.remoteName:
  // "ssh-remote", "wsl", code-server's window…), empty for a local window.
  remote?: string;
}

// remoteHint says where the path must be set in a remote window: there
// VS Code applies a machine setting such as cachelens.server.path from the
// Remote (machine) settings or the workspace's, never from the local user
// settings, which describe another machine.
function remoteHint(remote: string | undefined): string {
  return remote
    ? ` This window runs on a remote (${remote}): set cachelens.server.path in the Remote settings (Preferences: Open Remote Settings) or the workspace's; your local user settings do not apply there.`
    : "";
}

// installHint says how to install the server. cachelens is not on the Go
// module proxy yet, so the command that works is the one from a clone;
// the published path is named for when it is released.
export const installHint =
  "in a clone of https://github.com/cachelens/cachelens run: go install ./cmd/cachelens " +
  "(once released: go install github.com/cachelens/cachelens/cmd/cachelens@latest)";

export function findServer(l: Lookup): ServerCommand | { error: string } {
  const exe = l.platform === "win32" ? "cachelens.exe" : "cachelens";
  if (l.configured) {
    if (l.isExecutable(l.configured)) {
      return { command: l.configured, args: ["serve"] };
    }
    return { error: `cachelens.server.path is ${l.configured}, which is not an executable file.${remoteHint(l.remote)}` };
  }
  const sep = l.platform === "win32" ? ";" : ":";
  for (const dir of (l.env.PATH || "").split(sep)) {
    if (dir && l.isExecutable(path.join(dir, exe))) {
      return { command: path.join(dir, exe), args: ["serve"] };
    }
  }
  const gopaths = (l.env.GOPATH || path.join(l.home, "go")).split(sep).filter((d) => d);
  for (const gp of gopaths) {
    const p = path.join(gp, "bin", exe);
    if (l.isExecutable(p)) {
      return { command: p, args: ["serve"] };
    }
  }
  return {
    error: `The cachelens language server was not found on PATH or in ${gopaths.map((g) => path.join(g, "bin")).join(", ")}. To install it, ${installHint}.${remoteHint(l.remote)}`,
  };
}
