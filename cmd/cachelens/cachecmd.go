package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cachelens/cachelens/cacheruntime"
	"github.com/cachelens/cachelens/internal/diskstore"
)

// cacheCmd lists, sizes and clears the results programs persisted with
// cacheruntime.Persist:
//
//	cachelens cache [list] [-json] [-dir D]
//	cachelens cache clear [-stale] [-dir D] [names...]
func cacheCmd(args []string, stdout, stderr io.Writer) int {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("cachelens cache "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the directory results are persisted under (default $CACHELENS_CACHE_DIR, or cachelens in the user cache directory)")
	asJSON := fs.Bool("json", false, "list: print JSON")
	stale := fs.Bool("stale", false, "clear: only entries no current code reads (older code versions, older key rules)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage:
  cachelens cache [list] [-json] [-dir D]           what is persisted, per cached function
  cachelens cache clear [-stale] [-dir D] [names]   remove it (all, only stale entries, or the named functions')
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	base := *dir
	if base == "" {
		var err error
		if base, err = diskstore.Base(); err != nil {
			fmt.Fprintln(stderr, "cachelens cache:", err)
			return 1
		}
	}
	buckets, err := listAll(base)
	if err != nil {
		fmt.Fprintln(stderr, "cachelens cache:", err)
		return 1
	}
	switch sub {
	case "list":
		if fs.NArg() > 0 {
			fmt.Fprintln(stderr, "cachelens cache list: takes no arguments")
			return 2
		}
		if *asJSON {
			return listJSON(buckets, stdout, stderr)
		}
		listText(base, buckets, stdout)
		return 0
	case "clear":
		return clearBuckets(buckets, fs.Args(), *stale, stdout, stderr)
	}
	fmt.Fprintf(stderr, "cachelens cache: unknown subcommand %q\n", sub)
	fs.Usage()
	return 2
}

// bucket is a listed bucket and whether the current key rules read it.
type bucket struct {
	diskstore.BucketInfo
	currentRules bool
}

// stale reports whether no current code reads the bucket.
func (b bucket) stale() bool { return !b.Current || !b.currentRules }

func listAll(base string) ([]bucket, error) {
	roots, err := diskstore.Roots(base)
	if err != nil {
		return nil, err
	}
	current := diskstore.Root(base, cacheruntime.KeyVersion)
	var out []bucket
	for _, root := range roots {
		bs, err := diskstore.List(root)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			out = append(out, bucket{b, root == current})
		}
	}
	return out, nil
}

func listText(base string, buckets []bucket, w io.Writer) {
	if len(buckets) == 0 {
		fmt.Fprintf(w, "nothing persisted under %s\n", base)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tBOUND TO\tDEFINED AT\tENTRIES\tSIZE\tLAST USED\tSTATE")
	var entries int
	var size int64
	for _, b := range buckets {
		state := "current"
		switch {
		case !b.currentRules:
			state = "stale (older key rules)"
		case !b.Current:
			state = "stale (older code)"
		}
		last := "—"
		if !b.Newest.IsZero() {
			last = b.Newest.Format(time.DateTime)
		}
		name := shortFunc(b.Meta.Name)
		if name == "" {
			name = "(no description) " + filepath.Base(b.Dir)
		}
		at := "—"
		if b.Meta.File != "" {
			at = fmt.Sprintf("%s:%d", filepath.Base(b.Meta.File), b.Meta.Line)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", name, b.Meta.Binding, at, b.Entries, sizeText(b.Bytes), last, state)
		entries += b.Entries
		size += b.Bytes
	}
	tw.Flush()
	fmt.Fprintf(w, "%d entries, %s, under %s\n", entries, sizeText(size), base)
}

// shortFunc drops the import path from a function's name:
// "github.com/a/b.load" is "b.load".
func shortFunc(name string) string {
	return name[strings.LastIndex(name, "/")+1:]
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func listJSON(buckets []bucket, stdout, stderr io.Writer) int {
	type item struct {
		diskstore.Meta
		Dir      string    `json:"dir"`
		Entries  int       `json:"entries"`
		Bytes    int64     `json:"bytes"`
		LastUsed time.Time `json:"lastUsed"`
		Stale    bool      `json:"stale"`
	}
	out := []item{}
	for _, b := range buckets {
		out = append(out, item{b.Meta, b.Dir, b.Entries, b.Bytes, b.Newest, b.stale()})
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(stderr, "cachelens cache:", err)
		return 1
	}
	return 0
}

// clearBuckets removes the buckets chosen by names (a function's name
// with or without its import path or package, or what its cache is bound
// to; none: all) and stale.
func clearBuckets(buckets []bucket, names []string, stale bool, stdout, stderr io.Writer) int {
	matches := func(b bucket) bool {
		if len(names) == 0 {
			return true
		}
		short := shortFunc(b.Meta.Name)
		bare := short[strings.LastIndex(short, ".")+1:]
		for _, n := range names {
			if n == b.Meta.Name || n == short || n == bare || n == b.Meta.Binding {
				return true
			}
		}
		return false
	}
	var removed, entries int
	var size int64
	code := 0
	for _, b := range buckets {
		if !matches(b) || stale && !b.stale() {
			continue
		}
		if err := diskstore.RemoveBucket(b.BucketInfo); err != nil {
			fmt.Fprintln(stderr, "cachelens cache:", err)
			code = 1
			continue
		}
		removed++
		entries += b.Entries
		size += b.Bytes
	}
	fmt.Fprintf(stdout, "removed %d entries (%s) of %d cached function versions\n", entries, sizeText(size), removed)
	if removed == 0 && len(names) > 0 {
		fmt.Fprintf(stderr, "cachelens cache clear: no persisted function named %s\n", strings.Join(names, ", "))
		return 1
	}
	return code
}
