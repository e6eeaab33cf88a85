package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Environment variables both sides read.
const (
	// EnvSocket names the socket explicitly for both the server and the
	// programs: CACHELENS_SOCKET=/path/to/socket.
	EnvSocket = "CACHELENS_SOCKET"
	// EnvOff disables reporting in a program: CACHELENS=off.
	EnvOff = "CACHELENS"
)

// Registration is the descriptor a server writes for each workspace root
// it serves, next to its socket in the runtime directory. A program
// connects to every registered server whose root contains its source.
type Registration struct {
	Version int       `json:"version"`
	Root    string    `json:"root"`   // absolute workspace root
	Socket  string    `json:"socket"` // absolute socket path
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// RuntimeDir returns the per-user directory where servers register:
// $XDG_RUNTIME_DIR/cachelens, or $TMPDIR/cachelens-<uid>.
func RuntimeDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "cachelens")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("cachelens-%d", os.Getuid()))
}

// registrationName returns the base name (without extension) used for a
// server's files for root: a hash of the root and the pid.
func registrationName(root string, pid int) string {
	sum := sha256.Sum256([]byte(root))
	return fmt.Sprintf("%s-%d", hex.EncodeToString(sum[:6]), pid)
}

// Contains reports whether file lies inside the directory root.
func Contains(root, file string) bool {
	if root == "" || file == "" {
		return false
	}
	rel, err := filepath.Rel(root, file)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
