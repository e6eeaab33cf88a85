package annotate

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/cachelens/cachelens/internal/percent"

	"github.com/cachelens/cachelens/server/internal/anchor"
	"github.com/cachelens/cachelens/server/internal/store"
)

// Annotator computes annotations for files from a store snapshot.
type Annotator struct {
	Files *Files

	mu     sync.Mutex
	placed map[string]placed // the last placement per file
}

type placed struct {
	key placeKey
	pl  *Placement
}

// placeKey is everything a placement depends on: the snapshot, the
// buffer's text, and the files on disk in its directory.
type placeKey struct {
	path    string
	version uint64
	data    *byte
	n       int
	dir     time.Time
	mtime   time.Time
	size    int64
}

// New returns an annotator reading buffers through b.
func New(b Buffers) *Annotator {
	return &Annotator{Files: newFiles(b), placed: map[string]placed{}}
}

// Forget drops what is kept for path (the editor closed it).
func (a *Annotator) Forget(path string) {
	a.mu.Lock()
	delete(a.placed, path)
	a.mu.Unlock()
	a.Files.Forget(path)
}

// PlacedDef is a reported cached function placed on the current text.
type PlacedDef struct {
	Def   *store.Def
	At    anchor.Def // where it is in the current text
	Stale bool       // the program ran older code than the buffer shows
}

// PlacedSite is a reported call site placed on the current text.
type PlacedSite struct {
	Def   *store.Def
	Site  *store.Site
	At    anchor.Call
	Stale bool
}

// Placement is everything reported about one file, placed.
type Placement struct {
	Path  string
	Text  []byte // the current text the offsets refer to
	Defs  []PlacedDef
	Sites []PlacedSite
}

// Place resolves the snapshot's definitions and call sites in path onto
// the file's current text.
func (a *Annotator) Place(snap *store.Snapshot, path string) *Placement {
	text, _, ok := a.Files.Current(path)
	if !ok {
		return &Placement{Path: path}
	}
	k := placeKey{path: path, version: snap.Version, data: unsafe.SliceData(text), n: len(text)}
	k.mtime, k.size = diskStamp(path)
	if fi, err := os.Stat(filepath.Dir(path)); err == nil {
		k.dir = fi.ModTime()
	}
	a.mu.Lock()
	last, hit := a.placed[path]
	a.mu.Unlock()
	if hit && last.key == k {
		return last.pl
	}
	if len(text) > maxAnnotated {
		return &Placement{Path: path}
	}
	pl := a.place(snap, path, text)
	a.mu.Lock()
	if len(a.placed) >= 256 {
		clear(a.placed)
	}
	a.placed[path] = placed{k, pl}
	a.mu.Unlock()
	return pl
}

func (a *Annotator) place(snap *store.Snapshot, path string, text []byte) *Placement {
	pl := &Placement{Path: path}
	pl.Text = text
	defs, sites := snap.DefsIn(path), snap.SitesIn(path)
	if len(defs) == 0 && len(sites) == 0 {
		return pl
	}
	holders := a.holders(snap, path, sites)
	cur := a.Files.index(path, text, holders)
	for _, d := range defs {
		at, ok := a.placeDef(d, path, cur, holders)
		if ok {
			pl.Defs = append(pl.Defs, PlacedDef{Def: d, At: at, Stale: a.stale(d, path, text)})
		}
	}
	for _, so := range sites {
		callee := a.holderOf(so.Def, holders)
		if callee == "" {
			continue
		}
		var at anchor.Call
		found := false
		if btext, exact := a.builtText(so.Def, path); btext != nil && exact {
			bix := a.Files.index(path, btext, holders)
			if bc, ok := bix.CallAt(so.Site.Key.Line, callee); ok {
				at, found = cur.Match(bc)
			}
		}
		if !found {
			if at, found = cur.CallAt(so.Site.Key.Line, callee); !found {
				continue
			}
		}
		pl.Sites = append(pl.Sites, PlacedSite{Def: so.Def, Site: so.Site, At: at, Stale: a.stale(so.Def, path, text)})
	}
	return pl
}

// builtText returns the text of path that the def's newest counted run saw
// when it started (found among the versions seen by its content hash), and
// whether that is the text the program was built from.
func (a *Annotator) builtText(d *store.Def, path string) (text []byte, exact bool) {
	src, ok := d.Built[path]
	if !ok {
		return nil, false
	}
	text, ok = a.Files.ByHash(path, src.Hash)
	if !ok {
		return nil, false
	}
	return text, src.Verified
}

// stale reports whether the def's numbers may describe other code than
// the text shown: its run saw other content, could not tell what it was
// built from, or recorded nothing for the file.
func (a *Annotator) stale(d *store.Def, path string, cur []byte) bool {
	src, ok := d.Built[path]
	return !ok || !src.Verified || a.Files.Sum(path, cur) != src.Hash
}

func (a *Annotator) placeDef(d *store.Def, path string, cur *anchor.Index, holders holderSet) (anchor.Def, bool) {
	if btext, exact := a.builtText(d, path); btext != nil && exact {
		bix := a.Files.index(path, btext, holders)
		if bd, ok := bix.DefAt(d.Key.Line); ok {
			if at, ok := cur.Def(bd.ID); ok {
				return at, true
			}
			return anchor.Def{}, false // the definition is gone
		}
	}
	return cur.DefAt(d.Key.Line)
}

// holderOf returns the name the def is assigned to, from its file as
// built (or as it is now, when that is unknown).
func (a *Annotator) holderOf(d *store.Def, holders holderSet) string {
	btext, _ := a.builtText(d, d.Key.File)
	if btext == nil {
		if btext, _, _ = a.Files.Current(d.Key.File); btext == nil {
			return ""
		}
	}
	bix := a.Files.index(d.Key.File, btext, holders)
	if bd, ok := bix.DefAt(d.Key.Line); ok {
		return bd.ID.Holder
	}
	return ""
}

// holders returns the names that hold cached functions and are visible in
// path: those of its package (its directory) and those called from it.
func (a *Annotator) holders(snap *store.Snapshot, path string, sites []store.SiteOf) holderSet {
	h := map[string]bool{}
	dirs := map[string]bool{filepath.Dir(path): true}
	for _, so := range sites {
		dirs[filepath.Dir(so.Def.Key.File)] = true
	}
	for dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".go") {
				continue
			}
			p := filepath.Join(dir, e.Name())
			text, _, ok := a.Files.Current(p)
			if !ok {
				continue
			}
			for n := range a.Files.index(p, text, holderSet{}).Holders {
				h[n] = true
			}
		}
	}
	return newHolderSet(h)
}

// Lens is a code lens on a cached function; its title comes from
// LensTitle when the editor resolves it.
type Lens struct {
	Offset int // start of the definition's statement
	Def    store.DefKey
	Stale  bool
}

// Lenses returns a lens for each cached function in the placement that
// has been called.
func (pl *Placement) Lenses() []Lens {
	var out []Lens
	for _, pd := range pl.Defs {
		if pd.ran() {
			out = append(out, Lens{Offset: pd.At.Decl.Start, Def: pd.Def.Key, Stale: pd.Stale})
		}
	}
	return out
}

// ran reports whether the cached function has been called.
func (pd *PlacedDef) ran() bool { return pd.Def.Hits+pd.Def.Misses+pd.Def.Uncached > 0 }

// LensTitle is the headline of a cached function, as in
// "cache · 120 hits · 8 misses (94%) · saved 3.1s".
func LensTitle(d *store.Def, stale bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cache · %d %s", d.Hits, plural(d.Hits, "hit", "hits"))
	if tiers := tierHits(d); tiers != "" {
		fmt.Fprintf(&b, " (%s)", tiers)
	}
	fmt.Fprintf(&b, " · %d %s (%s)", d.Misses, plural(d.Misses, "miss", "misses"), percent.Format(d.Hits, d.Hits+d.Misses, 0))
	if d.Uncached > 0 {
		fmt.Fprintf(&b, " · %d uncached", d.Uncached)
	}
	if s := d.Saved(); s > 0 {
		fmt.Fprintf(&b, " · saved %s", formatDuration(s))
	}
	if d.Mutations > 0 {
		fmt.Fprintf(&b, " · %d %s", d.Mutations, plural(d.Mutations, "mutation", "mutations"))
	}
	if stale {
		b.WriteString(" · older build")
	}
	return b.String()
}

// tierHits says which of d's hits its stores behind memory answered
// ("3 disk"), or "" if none did.
func tierHits(d *store.Def) string {
	var parts []string
	for _, t := range d.Tiers {
		if t.Hits > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", t.Hits, t.Name))
		}
	}
	return strings.Join(parts, " · ")
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Hint is an inlay hint at a call site.
type Hint struct {
	Offset  int // end of the call
	Label   string
	Tooltip string
}

// Hints returns a hint for each call site in [start, end).
func (pl *Placement) Hints(start, end int) []Hint {
	var out []Hint
	for _, ps := range pl.Sites {
		if ps.At.Span.End < start || ps.At.Span.End > end {
			continue
		}
		s := ps.Site
		if s.Hits+s.Misses+s.Uncached == 0 {
			continue
		}
		label := fmt.Sprintf("%d %s · %d %s", s.Hits, plural(s.Hits, "hit", "hits"), s.Misses, plural(s.Misses, "miss", "misses"))
		if s.Uncached > 0 {
			label += fmt.Sprintf(" · %d uncached", s.Uncached)
		}
		if ps.Stale {
			label += " · older build"
		}
		tip := ""
		if len(s.Reasons) > 0 {
			tip = "last miss here: " + s.Reasons[0].Text
		}
		out = append(out, Hint{Offset: ps.At.Span.End, Label: label, Tooltip: tip})
	}
	slices.SortFunc(out, func(a, b Hint) int { return a.Offset - b.Offset })
	return out
}

// DefHints returns, for editors without code lenses (Helix, for one),
// each called cached function's lens title as a hint at the end of the
// line that defines it, when that line end lies in [start, end].
func (pl *Placement) DefHints(start, end int) []Hint {
	var out []Hint
	for _, pd := range pl.Defs {
		if !pd.ran() {
			continue
		}
		decl := min(pd.At.Decl.Start, len(pl.Text))
		off := len(pl.Text)
		if i := bytes.IndexByte(pl.Text[decl:], '\n'); i >= 0 {
			off = decl + i
		}
		if off >= start && off <= end {
			out = append(out, Hint{Offset: off, Label: LensTitle(pd.Def, pd.Stale), Tooltip: "hover the cached function for details"})
		}
	}
	return out
}

// formatDuration formats a duration the way the annotations show it: 3.1s,
// 20ms, 120ns.
func formatDuration(d time.Duration) string {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d >= time.Microsecond:
		return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
	}
	return d.String()
}

// formatBytes formats a size: 912 B, 1.2 MB.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
