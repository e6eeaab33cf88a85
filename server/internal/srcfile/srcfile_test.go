package srcfile

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSpecialFiles: a FIFO with no writer, /dev/zero and a directory are
// refused at once; an oversized file is refused without being read; a
// regular file is read.
func TestSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.go")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.go")
	f, _ := os.Create(big)
	f.Truncate(maxSize + 1)
	f.Close()
	ok := filepath.Join(dir, "ok.go")
	os.WriteFile(ok, []byte("package x\n"), 0o644)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, p := range []string{fifo, "/dev/zero", dir} {
			if _, err := Read(p); !errors.Is(err, ErrNotRegular) {
				t.Errorf("Read(%s) = %v, want ErrNotRegular", p, err)
			}
		}
		if _, err := Read(big); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Read(big) = %v, want ErrTooLarge", err)
		}
		if data, err := Read(ok); err != nil || string(data) != "package x\n" {
			t.Errorf("Read(ok) = %q, %v", data, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a read blocked")
	}
}
