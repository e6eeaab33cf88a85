package prod

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cachelens/cachelens/internal/percent"
)

// LensTitle is the production line of a series, as in
// "prod 24h: 96% hits · 1.2k calls/s · 3 replicas · 2 mutations". rev is
// the workspace's revision ("" if unknown): a series reported by other
// builds only is marked.
func (s *Series) LensTitle(window time.Duration, rev string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "prod %s: %s hits · %s calls/s", windowText(window), percent.Format(int64(s.Hits+0.5), int64(s.Hits+s.Misses+0.5), 0), count(s.Rate))
	if n := len(s.Replicas); n > 0 {
		fmt.Fprintf(&b, " · %d %s", n, plural(n, "replica", "replicas"))
	}
	if m := int64(s.Mutations + 0.5); m > 0 {
		fmt.Fprintf(&b, " · %d %s", m, plural(int(m), "mutation", "mutations"))
	}
	if e := int64(s.HashErrs + 0.5); e > 0 {
		fmt.Fprintf(&b, " · %d hash %s", e, plural(int(e), "error", "errors"))
	}
	if s.OtherRevision(rev) {
		fmt.Fprintf(&b, " · from %s", shortRev(s.Revisions[0]))
	}
	return b.String()
}

// OtherRevision reports whether the series comes only from builds of
// another revision than rev (false when either is unknown).
func (s *Series) OtherRevision(rev string) bool {
	return rev != "" && len(s.Revisions) > 0 && !slices.ContainsFunc(s.Revisions, func(r string) bool {
		return strings.HasPrefix(r, rev) || strings.HasPrefix(rev, r)
	})
}

// Hover is the production section of a cache's hover: per replica and
// per miss reason.
func (s *Series) Hover(window time.Duration, rev string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Production, last %s** (Prometheus)\n\n", windowText(window))
	fmt.Fprintf(&b, "%d hits · %d misses (%s) · %s calls/s", int64(s.Hits+0.5), int64(s.Misses+0.5),
		percent.Format(int64(s.Hits+0.5), int64(s.Hits+s.Misses+0.5), 1), count(s.Rate))
	if u := int64(s.Uncached + 0.5); u > 0 {
		fmt.Fprintf(&b, " · %d uncached", u)
	}
	b.WriteString("\n\n")
	if len(s.Replicas) > 0 {
		b.WriteString("| replica | hits | misses | hit rate |\n|---|---|---|---|\n")
		for _, r := range s.Replicas {
			fmt.Fprintf(&b, "| %s | %d | %d | %s |\n", r.Instance, int64(r.Hits+0.5), int64(r.Misses+0.5), percent.Format(int64(r.Hits+0.5), int64(r.Hits+r.Misses+0.5), 1))
		}
		b.WriteString("\n")
	}
	if len(s.Reasons) > 0 {
		reasons := make([]string, 0, len(s.Reasons))
		for k := range s.Reasons {
			reasons = append(reasons, k)
		}
		slices.SortFunc(reasons, func(a, b string) int {
			if s.Reasons[a] != s.Reasons[b] {
				if s.Reasons[a] > s.Reasons[b] {
					return -1
				}
				return 1
			}
			return strings.Compare(a, b)
		})
		b.WriteString("| miss reason | misses |\n|---|---|\n")
		for _, k := range reasons {
			if n := int64(s.Reasons[k] + 0.5); n > 0 {
				fmt.Fprintf(&b, "| %s | %d |\n", k, n)
			}
		}
		b.WriteString("\n")
	}
	if m := int64(s.Mutations + 0.5); m > 0 {
		fmt.Fprintf(&b, "%d %s of cached results in production.\n\n", m, plural(int(m), "mutation", "mutations"))
	}
	if e := int64(s.HashErrs + 0.5); e > 0 {
		fmt.Fprintf(&b, "%d hash %s in production (calls ran uncached).\n\n", e, plural(int(e), "error", "errors"))
	}
	if len(s.Revisions) > 0 {
		fmt.Fprintf(&b, "Builds reporting: %s", strings.Join(s.Revisions, ", "))
		if s.OtherRevision(rev) {
			fmt.Fprintf(&b, " — not the workspace's revision (%s): the code may differ", shortRev(rev))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func windowText(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// count writes a rate compactly: 0.25, 3.4, 42, 1.2k, 3.5M.
func count(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 10:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
