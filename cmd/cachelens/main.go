// Command cachelens is the cachelens language server and command line.
//
//	cachelens [serve]                        the language server, on stdio
//	cachelens check [-fix] [-json] [packages] the static checks, vet style
//	cachelens demo [-fix]                    the example program, annotated
//	cachelens cache [list|clear] [flags]     results persisted by cacheruntime.Persist
//	cachelens version
//
// It also works as a vet tool: go vet -vettool=$(which cachelens) ./...
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cachelens/cachelens/diagnostics"
	"golang.org/x/tools/go/analysis/unitchecker"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "devel"

func main() {
	if vettool(os.Args[1:]) {
		unitchecker.Main(diagnostics.Analyzers()...)
		return
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// vettool reports whether go vet is running us as its analysis tool.
func vettool(args []string) bool {
	if len(args) == 0 {
		return false
	}
	for _, a := range args {
		if a == "-V=full" || a == "-flags" || (strings.HasSuffix(a, ".cfg") && !strings.HasPrefix(a, "-")) {
			return true
		}
	}
	return false
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && (!strings.HasPrefix(args[0], "-") || isHelp(args[0])) {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stdin, stdout, stderr)
	case "check":
		return check(args, stdout, stderr)
	case "demo":
		return demo(args, stdout, stderr)
	case "cache":
		return cacheCmd(args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "cachelens", version)
		return 0
	}
	if isHelp(cmd) {
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "cachelens: unknown command %q\n", cmd)
	usage(stderr)
	return 2
}

// isHelp reports whether arg asks for the list of commands.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  cachelens [serve]                          run the language server on stdio
  cachelens check [-fix] [-json] [packages]  run the static checks (default ./...)
  cachelens demo [-fix]                      run the example program and show what cachelens sees
  cachelens cache [list | clear [-stale]]    list or clear results persisted with cacheruntime.Persist
  cachelens version
  cachelens help                             this list

Each command takes -h for its own flags (cachelens serve -h for the server's).
As a vet tool: go vet -vettool=$(which cachelens) ./...
`)
}
