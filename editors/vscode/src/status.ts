// The status bar item's text.

// Status is the server's cachelens/status notification.
export interface Status {
  listening: boolean;
  socket?: string;
  running: number; // programs connected now
  processes: number; // runs the server shows (running or ended)
  functions: number;
  lastRun?: string; // RFC 3339: when the latest run was last seen
  problem?: string;
  // Production metrics: "" (off), "pending", "ok", "no data", "unreachable".
  production?: string;
  productionError?: string;
  productionCaches?: number;
}

// productionText is the status's production part for the tooltip, and
// whether it is a problem to show in the item.
function productionText(s: Status): { line: string; problem: boolean } {
  switch (s.production) {
    case undefined:
    case "":
      return { line: "", problem: false };
    case "ok":
      return { line: `Production: ${count(s.productionCaches ?? 0, "cache", "caches")} in Prometheus.`, problem: false };
    case "pending":
      return { line: "Production: reading Prometheus…", problem: false };
    case "no data":
      return { line: "Production: Prometheus has no cachelens series for these matchers.", problem: false };
  }
  return { line: `Production: Prometheus is unreachable (${s.productionError ?? "no reason given"}); the production line is hidden.`, problem: true };
}

export type State = "starting" | "running" | "stopped" | "missing" | "failed";

// ago says how long before now t was, as a person would: "12 s ago",
// "3 min ago", "2 h ago", "yesterday"...
export function ago(t: Date, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - t.getTime()) / 1000));
  if (s < 5) {
    return "just now";
  }
  if (s < 60) {
    return `${s} s ago`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ago`;
  }
  if (s < 86400) {
    return `${Math.floor(s / 3600)} h ago`;
  }
  const d = Math.floor(s / 86400);
  return d === 1 ? "yesterday" : `${d} days ago`;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function statusText(state: State, s?: Status, now: Date = new Date()): { text: string; tooltip: string } {
  switch (state) {
    case "missing":
      return { text: "$(warning) cachelens", tooltip: "The cachelens server was not found. Click to see how to install it." };
    case "failed":
      return { text: "$(error) cachelens", tooltip: "The cachelens server stopped. Click for its log." };
    case "stopped":
      return { text: "$(debug-stop) cachelens", tooltip: "The cachelens server is stopped." };
    case "starting":
      return { text: "$(sync~spin) cachelens", tooltip: "Starting the cachelens server…" };
  }
  if (!s) {
    return { text: "$(pulse) cachelens", tooltip: "cachelens is running." };
  }
  if (!s.listening) {
    return { text: "$(warning) cachelens", tooltip: "cachelens cannot receive reports from programs; see its log." };
  }
  const functions = count(s.functions, "cached function", "cached functions");
  let text: string;
  let tooltip: string;
  if (s.running > 0) {
    text = `${count(s.running, "program", "programs")} running`;
    tooltip = `${text} and reporting. ${count(s.processes, "run", "runs")} shown, ${functions}.`;
  } else if (s.processes > 0) {
    const when = s.lastRun ? ago(new Date(s.lastRun), now) : "";
    text = count(s.processes, "run", "runs") + (when ? `, ${when}` : "");
    tooltip = `Showing ${count(s.processes, "run", "runs")} of your programs` + (when ? `, the latest ${when}` : "") + `: ${functions}. Nothing is running now.`;
  } else {
    text = "no runs yet";
    tooltip = "Run a program that uses cacheruntime (go run, go test): its counts appear beside the code.";
  }
  if (s.socket) {
    tooltip += `\nListening on ${s.socket}`;
  }
  const prod = productionText(s);
  if (prod.line) {
    tooltip += `\n${prod.line}`;
  }
  if (s.problem) {
    return { text: `$(warning) cachelens: ${text}`, tooltip: `${tooltip}\n${s.problem}` };
  }
  if (prod.problem) {
    return { text: `$(warning) cachelens: ${text}`, tooltip };
  }
  return { text: `$(pulse) cachelens: ${text}`, tooltip };
}
