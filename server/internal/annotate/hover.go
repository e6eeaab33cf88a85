package annotate

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cachelens/cachelens/internal/percent"

	"github.com/cachelens/cachelens/server/internal/store"
)

// Hover returns Markdown describing the cached function or call site at
// offset, and the byte range it describes; ok is false if there is none.
func (pl *Placement) Hover(snap *store.Snapshot, offset int) (md string, start, end int, ok bool) {
	for _, ps := range pl.Sites {
		if offset >= ps.At.Span.Start && offset <= ps.At.Span.End {
			return siteHover(snap, ps), ps.At.Span.Start, ps.At.Span.End, true
		}
	}
	for _, pd := range pl.Defs {
		in := func(s, e int) bool { return offset >= s && offset <= e }
		if in(pd.At.Call.Start, pd.At.Call.End) || in(pd.At.Name.Start, pd.At.Name.End) || in(pd.At.Decl.Start, pd.At.Decl.End) {
			return defHover(snap, pd.Def, pd.At.ID.Holder, pd.Stale), pd.At.Decl.Start, pd.At.Decl.End, true
		}
	}
	return "", 0, 0, false
}

func defHover(snap *store.Snapshot, d *store.Def, holder string, stale bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**cache** `%s`", displayName(d.Name, holder))
	if holder != "" && d.Name != "" && !isLiteralName(d.Name) {
		fmt.Fprintf(&b, " of `%s`", shortName(d.Name))
	}
	if d.Sig != "" {
		fmt.Fprintf(&b, " — `%s`", d.Sig)
	}
	b.WriteString("\n\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, v) }
	b.WriteString("| | |\n|---|---|\n")
	if tiers := tierHits(d); tiers != "" {
		var fromTiers int64
		for _, t := range d.Tiers {
			fromTiers += t.Hits
		}
		row("hits", fmt.Sprintf("%d (%d memory · %s)", d.Hits, d.Hits-fromTiers, tiers))
	} else {
		row("hits", fmt.Sprint(d.Hits))
	}
	row("misses", fmt.Sprint(d.Misses))
	row("hit rate", percent.Format(d.Hits, d.Hits+d.Misses, 1))
	if d.Uncached > 0 {
		row("uncached calls", fmt.Sprint(d.Uncached))
	}
	row("entries", fmt.Sprint(d.Entries))
	row("memory held", formatBytes(d.Bytes))
	if d.Computes > 0 {
		row("avg compute", formatDuration(d.AvgCompute()))
	} else {
		row("avg compute", "no computation yet")
	}
	if d.HashN > 0 {
		row("avg hash + check", formatDuration(d.AvgHash()))
	} else {
		row("avg hash + check", "not measured yet (timed on hits)")
	}
	row("time saved", formatDuration(d.Saved()))
	if d.Evictions > 0 || d.MaxEntries > 0 {
		row("evictions", fmt.Sprintf("%d (max %d entries)", d.Evictions, d.MaxEntries))
	}
	if d.Expired > 0 || d.TTL > 0 {
		row("expired", fmt.Sprintf("%d (TTL %s)", d.Expired, d.TTL))
	}
	if d.AllowMutation {
		row("mutation check", "off (AllowOutputMutation)")
	}
	for _, t := range d.Tiers {
		v := fmt.Sprintf("%d %s · %d %s · %d %s (%s)", t.Hits, plural(t.Hits, "hit", "hits"), t.Misses, plural(t.Misses, "miss", "misses"),
			t.Writes, plural(t.Writes, "write", "writes"), formatBytes(t.WriteBytes))
		if t.CodeChanged > 0 {
			v += fmt.Sprintf(" · %d after a code change", t.CodeChanged)
		}
		if t.Errors > 0 {
			v += fmt.Sprintf(" · %d %s", t.Errors, plural(t.Errors, "error", "errors"))
		}
		row(t.Name, v)
		if t.Location != "" {
			row(t.Name+" entries", "`"+t.Location+"`")
		}
		if t.Basis != "" {
			row("code fingerprint", t.Basis)
		}
	}
	reasons := 0
	for _, s := range d.Sites {
		reasons += len(s.Reasons)
	}
	if reasons > 0 {
		b.WriteString("\n**Last miss reasons**\n\n")
		n := 0
		for _, s := range d.Sites {
			for _, r := range s.Reasons {
				if n == maxListed {
					break
				}
				fmt.Fprintf(&b, "- line %d: %s (×%d)\n", s.Key.Line, r.Text, r.Count)
				n++
			}
		}
	}
	if len(d.HashErrs) > 0 {
		b.WriteString("\n**Hash errors** (the call ran uncached)\n\n")
		for i, e := range d.HashErrs {
			if i == maxListed {
				more(&b, len(d.HashErrs)-i, "hash error", "hash errors")
				break
			}
			fmt.Fprintf(&b, "- `%s` (×%d", e.Text, e.Count)
			if e.Site.Line > 0 {
				fmt.Fprintf(&b, ", line %d", e.Site.Line)
			}
			b.WriteString(")\n")
		}
	}
	if len(d.MutationLog) > 0 {
		b.WriteString("\n**Mutations** (a caller changed a cached result)\n\n")
		for i, m := range d.MutationLog {
			if i == maxListed {
				more(&b, len(d.MutationLog)-i, "mutation", "mutations")
				break
			}
			path := m.Path
			if path == "" {
				path = "the result"
			}
			fmt.Fprintf(&b, "- `%s` changed after line %d received it; noticed at line %d (×%d)\n", path, m.Recv.Line, m.Detect.Line, m.Count)
		}
	}
	if len(d.StoreErrs) > 0 {
		b.WriteString("\n**Store errors** (the calls ran from memory or computed; none returned a wrong result)\n\n")
		for i, e := range d.StoreErrs {
			if i == maxListed {
				more(&b, len(d.StoreErrs)-i, "store error", "store errors")
				break
			}
			fmt.Fprintf(&b, "- %s: `%s` (×%d)\n", e.Tier, e.Message, e.Count)
		}
	}
	b.WriteString("\n" + processesLine(snap, d))
	if stale {
		b.WriteString("\n\n_The reporting program was built from an older version of this file than the editor shows._")
	}
	return b.String()
}

func siteHover(snap *store.Snapshot, ps PlacedSite) string {
	s := ps.Site
	var b strings.Builder
	fmt.Fprintf(&b, "**cached call** to `%s`: %d %s · %d %s", displayName(ps.Def.Name, ps.At.ID.Callee), s.Hits, plural(s.Hits, "hit", "hits"), s.Misses, plural(s.Misses, "miss", "misses"))
	if s.Uncached > 0 {
		fmt.Fprintf(&b, " · %d uncached", s.Uncached)
	}
	b.WriteString(" at this call site\n\n")
	if len(s.Reasons) > 0 {
		b.WriteString("**Why calls here missed**\n\n")
		for i, r := range s.Reasons {
			if i == maxListed {
				more(&b, len(s.Reasons)-i, "reason", "reasons")
				break
			}
			fmt.Fprintf(&b, "- %s (×%d)\n", r.Text, r.Count)
		}
		b.WriteString("\n")
	}
	b.WriteString("---\n\n")
	b.WriteString(defHover(snap, ps.Def, ps.At.ID.Callee, ps.Stale))
	return b.String()
}

// maxListed bounds each list a hover shows, so that its size and the time
// to build it do not depend on how much was reported.
const maxListed = 6

// more writes the line that stands for the n entries a list leaves out.
func more(b *strings.Builder, n int, one, many string) {
	fmt.Fprintf(b, "- … and %d more %s\n", n, plural(int64(n), one, many))
}

// processesLine names the runs whose counts the hover shows: the number
// of runs per program and the first few runs themselves.
func processesLine(snap *store.Snapshot, d *store.Def) string {
	if len(d.Processes) == 0 {
		return ""
	}
	var parts []string
	running := 0
	for _, k := range d.Processes {
		p, ok := snap.Process(k)
		if !ok {
			continue
		}
		state := "exited"
		if p.Connected {
			state = "running"
			running++
		}
		if len(parts) < maxListed {
			parts = append(parts, fmt.Sprintf("%s (pid %d, %s)", filepath.Base(p.Program), p.Key.PID, state))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	line := "Reported by " + strings.Join(parts, ", ")
	if rest := len(d.Processes) - len(parts); rest > 0 {
		line += fmt.Sprintf(" and %d more %s (%d of %d running)", rest, plural(int64(rest), "run", "runs"), running, len(d.Processes))
	}
	return line
}
