package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/cachelens/cachelens/server/lsp"
)

// checkDelay is how long edits must pause before the static checks run
// again: a type check of a large package costs far more than an edit, so
// a burst of typing is checked once, when it pauses.
const checkDelay = 300 * time.Millisecond

// serve runs the language server on stdio. The process exits with the
// code the protocol asks for: 0 after shutdown and exit, 1 on exit without
// shutdown or when the client goes away.
func serve(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logfile := fs.String("logfile", "", "write the log to this file instead of stderr")
	quiet := fs.Bool("quiet", false, "log nothing")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the session to this file")
	memprofile := fs.String("memprofile", "", "write a heap profile to this file when the session ends")
	// Clients such as vscode-languageclient add --stdio; stdio is the only
	// transport, so the flag is accepted and means nothing more.
	fs.Bool("stdio", true, "speak LSP on stdin and stdout (the only transport; accepted for clients that pass it)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cachelens [serve] [-stdio] [-logfile file] [-quiet] [-cpuprofile file] [-memprofile file]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "cachelens:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "cachelens:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			fmt.Fprintln(stderr, "cachelens:", err)
			return 2
		}
		defer func() {
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}()
	}
	var logger *log.Logger
	switch {
	case *quiet:
	case *logfile != "":
		f, err := os.OpenFile(*logfile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintln(stderr, "cachelens:", err)
			return 2
		}
		defer f.Close()
		logger = log.New(f, "cachelens: ", log.LstdFlags|log.Lmicroseconds)
	default:
		logger = log.New(stderr, "cachelens: ", log.LstdFlags|log.Lmicroseconds)
	}
	// A soft memory limit: the server runs beside gopls in every editor
	// session, so under heavy input (a large package type-checked on
	// every pause in typing) the collector works harder rather than let
	// the heap double. GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		stop := limitMemory()
		defer stop()
	}
	opts := lsp.Options{Version: version, Debounce: checkDelay}
	if logger != nil {
		opts.Logf = logger.Printf
	}
	// SIGTERM and SIGINT (an editor or a terminal ending the server) end
	// it the way exit does: its registration and socket are removed, so
	// programs do not try a server that is gone.
	ctx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stopSignals()
	in, out := stdin, stdout
	if f, ok := pollable(stdin); ok {
		defer f.Close()
		in = f
	}
	if f, ok := pollable(stdout); ok {
		defer f.Close()
		out = f
	}
	return lsp.Serve(ctx, in, out, opts)
}
