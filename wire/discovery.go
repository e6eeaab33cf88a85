package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// EnsureDir creates dir with mode 0700 if needed and checks that only the
// current user can enter it.
func EnsureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	return CheckDir(dir)
}

// CheckDir verifies that dir is a directory owned by the current user that
// no one else can enter. A directory someone else prepared could let them
// see or fake reports, so both sides refuse it.
func CheckDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o; want 0700 (only the owner may enter)", dir, perm)
	}
	if uid, ok := ownerOf(fi); ok && uid != os.Getuid() {
		return fmt.Errorf("%s is owned by uid %d, not by the current user (uid %d)", dir, uid, os.Getuid())
	}
	return nil
}

// RegistrationName returns the base name (without extension) used for a
// server's files for root: a hash of the root and the pid.
func RegistrationName(root string, pid int) string {
	sum := sha256.Sum256([]byte(root))
	return fmt.Sprintf("%s-%d", hex.EncodeToString(sum[:6]), pid)
}

// Register writes reg into dir atomically and returns the file's path.
func Register(dir string, reg Registration) (string, error) {
	if reg.Version == 0 {
		reg.Version = Version
	}
	data, err := json.Marshal(reg)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, RegistrationName(reg.Root, reg.PID)+".json")
	tmp, err := os.CreateTemp(dir, ".reg-*")
	if err != nil {
		return "", fmt.Errorf("registering %s: %w", reg.Root, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("registering %s: %w", reg.Root, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("registering %s: %w", reg.Root, err)
	}
	return path, nil
}

// Registrations reads every registration in dir, with the path of its
// file. It fails if dir is not safe to use (see CheckDir).
func Registrations(dir string) (regs []Registration, files []string, err error) {
	if err := CheckDir(dir); err != nil {
		return nil, nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var reg Registration
		if err := json.Unmarshal(data, &reg); err != nil || reg.Socket == "" {
			errs = append(errs, fmt.Errorf("%s: not a registration", path))
			continue
		}
		regs = append(regs, reg)
		files = append(files, path)
	}
	return regs, files, errors.Join(errs...)
}

// Contains reports whether file lies inside the directory root.
func Contains(root, file string) bool {
	if root == "" || file == "" {
		return false
	}
	rel, err := filepath.Rel(root, file)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
