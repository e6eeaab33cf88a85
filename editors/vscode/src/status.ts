// The status bar item's text.

// Status is the server's cachelens/status notification.
export interface Status {
  listening: boolean;
  socket?: string;
  running: number;
  processes: number;
  functions: number;
}

export type State = "starting" | "running" | "stopped" | "missing" | "failed";

export function statusText(state: State, s?: Status): { text: string; tooltip: string } {
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
  const programs = s.running === 1 ? "1 program" : `${s.running} programs`;
  return {
    text: `$(pulse) cachelens: ${programs}`,
    tooltip: `Connected. ${programs} reporting now, ${s.processes} since the start, ${s.functions} cached functions.` +
      (s.socket ? `\nListening on ${s.socket}` : ""),
  };
}
