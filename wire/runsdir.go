package wire

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// EnvRuns names the runs directory for both sides: CACHELENS_RUNS=/path.
const EnvRuns = "CACHELENS_RUNS"

// Run-file retention: what a directory of run files may hold. Files of
// processes still running are never removed.
const (
	// RunRetention is how long the file of a finished process is kept,
	// so an editor opened later shows the run.
	RunRetention = 24 * time.Hour
	// RunMaxFiles bounds the files in the directory: beyond it the files
	// of finished processes go, oldest first.
	RunMaxFiles = 128
	// RunMaxBytes bounds the bytes of the files of finished processes in
	// the directory (which is memory, on tmpfs): beyond it they go, oldest
	// first.
	RunMaxBytes = 256 << 20
	// RunScanLimit bounds the directory entries one scan looks at, so a
	// directory of many thousands of stale files is handled in bounded
	// time per scan.
	RunScanLimit = 4096
)

// RunsDir returns the per-user directory of run files, which should be in
// memory (tmpfs) so that updating counters never waits for a disk:
// $CACHELENS_RUNS; else $XDG_RUNTIME_DIR/cachelens/runs (tmpfs on systemd
// systems); else /dev/shm/cachelens-<uid> where /dev/shm exists (Linux);
// else $TMPDIR/cachelens-<uid>/runs.
func RunsDir() string {
	if d := os.Getenv(EnvRuns); d != "" {
		return d
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "cachelens", "runs")
	}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return fmt.Sprintf("/dev/shm/cachelens-%d", os.Getuid())
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("cachelens-%d", os.Getuid()), "runs")
}

// RunFileName is the name of the run file of process pid started at
// start (unix nanoseconds).
func RunFileName(pid int, start int64) string {
	return fmt.Sprintf("run-%d-%d.clrun", pid, start)
}

// ParseRunFileName returns the pid and start of a run file's name.
func ParseRunFileName(name string) (pid int, start int64, ok bool) {
	rest, ok := strings.CutPrefix(name, "run-")
	if !ok {
		return 0, 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".clrun")
	if !ok {
		return 0, 0, false
	}
	p, s, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, 0, false
	}
	pi, err1 := strconv.Atoi(p)
	si, err2 := strconv.ParseInt(s, 10, 64)
	if err1 != nil || err2 != nil || pi <= 0 {
		return 0, 0, false
	}
	return pi, si, true
}
