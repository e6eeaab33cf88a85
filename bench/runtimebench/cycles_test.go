package runtimebench

import (
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/cachelens/cachelens/cacheruntime"
	clone "github.com/huandu/go-clone"
)

type ring struct {
	Name string
	Next *ring
}

func newRing() *ring {
	a := &ring{Name: "a"}
	a.Next = &ring{Name: "b", Next: a}
	return a
}

// TestCloneCycles: cacheruntime.Clone copies a cycle; go-clone's Clone
// (its fast default) overflows the stack on the same value, shown in a
// child process with a small stack limit.
func TestCloneCycles(t *testing.T) {
	if os.Getenv("RUNTIMEBENCH_PEER_CYCLE") == "1" {
		debug.SetMaxStack(32 << 20)
		_ = clone.Clone(newRing())
		os.Exit(0)
	}
	c := cacheruntime.Clone(newRing())
	if c.Next.Next != c || c.Name != "a" || c.Next.Name != "b" {
		t.Fatal("cacheruntime.Clone broke the cycle")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCloneCycles$")
	cmd.Env = append(os.Environ(), "RUNTIMEBENCH_PEER_CYCLE=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "stack exceeds") {
		t.Fatalf("go-clone on a cycle: err=%v, output:\n%.500s", err, out)
	}
	t.Logf("go-clone.Clone on a 2-node cycle: %s", firstLine(string(out)))
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "stack exceeds") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
