//go:build unix

package wire

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// A Dir is a per-user private directory — where servers register, or
// where programs keep run files — opened once and checked through the
// opened descriptor. Everything done in it afterwards is relative to that
// descriptor (os.Root; sockets through /proc/self/fd on Linux), so swapping
// a symlink into the path after the check redirects nothing.
type Dir struct {
	Path string // the directory's path
	// Fallback is set when Path is a fresh private directory beside the
	// usual one, which someone else had taken or left open; Note says why.
	Fallback bool
	Note     string

	root *os.Root
	f    *os.File // the directory itself, for socket paths
}

// fallbackPrefix is how fallback directories beside dir are named:
// "<dir>-<random>".
func fallbackPrefix(dir string) string { return filepath.Base(dir) + "-" }

// OpenDir opens the private directory dir, creating it (mode 0700) if
// create is set. If dir is not safe — another user's, or open to others —
// and fallback is set, it uses a private directory beside it instead: one
// made earlier (the first that is safe) or a new one; Note then says why.
// Programs and servers look in those fallbacks too (Dirs), so a user whose
// directory someone squatted still gets their insight.
func OpenDir(dir string, create, fallback bool) (*Dir, error) {
	d, err := openDir(dir, create)
	if err == nil || !fallback {
		return d, err
	}
	note := fmt.Sprintf("%s cannot be used (%v)", dir, err)
	for _, alt := range fallbacks(dir) {
		if d, err := openDir(alt, false); err == nil {
			d.Fallback, d.Note = true, note+"; using "+alt
			return d, nil
		}
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("%s; %w", note, err)
	}
	alt, err := os.MkdirTemp(parent, fallbackPrefix(dir))
	if err != nil {
		return nil, fmt.Errorf("%s; %w", note, err)
	}
	d, err = openDir(alt, false)
	if err != nil {
		return nil, fmt.Errorf("%s; %w", note, err)
	}
	d.Fallback, d.Note = true, note+"; using "+alt
	return d, nil
}

// Dirs opens dir and the fallback directories beside it that are safe:
// everywhere a server may have registered or a program may keep its run
// file.
func Dirs(dir string) []*Dir {
	var out []*Dir
	if d, err := openDir(dir, false); err == nil {
		out = append(out, d)
	}
	for _, alt := range fallbacks(dir) {
		if d, err := openDir(alt, false); err == nil {
			d.Fallback = true
			out = append(out, d)
		}
	}
	return out
}

// fallbacks returns the paths of the fallback directories beside dir.
func fallbacks(dir string) []string {
	parent, prefix := filepath.Dir(dir), fallbackPrefix(dir)
	f, err := os.Open(parent)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	for {
		names, err := f.Readdirnames(256)
		for _, n := range names {
			if strings.HasPrefix(n, prefix) && len(out) < 16 {
				out = append(out, filepath.Join(parent, n))
			}
		}
		if err != nil || len(out) >= 16 {
			break
		}
	}
	return out
}

func openDir(dir string, create bool) (*Dir, error) {
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	fi, err := root.Stat(".")
	if err == nil {
		err = checkPrivate(dir, fi)
	}
	var f *os.File
	if err == nil {
		// The same directory as root: opened through it.
		f, err = root.Open(".")
	}
	if err != nil {
		root.Close()
		return nil, err
	}
	return &Dir{Path: dir, root: root, f: f}, nil
}

// Root returns the opened directory, for file operations relative to it.
func (d *Dir) Root() *os.Root { return d.root }

// SocketPath returns a path that names the socket name in d through d's
// descriptor (/proc/self/fd/N/name on Linux, where the path fits a socket
// address), else d.Path/name. Bind and dial with it; tell others
// filepath.Join(d.Path, name).
func (d *Dir) SocketPath(name string) string {
	if runtime.GOOS == "linux" {
		p := fmt.Sprintf("/proc/self/fd/%d/%s", d.f.Fd(), name)
		if len(p) < 104 {
			if _, err := os.Stat(fmt.Sprintf("/proc/self/fd/%d", d.f.Fd())); err == nil {
				return p
			}
		}
	}
	return filepath.Join(d.Path, name)
}

// Close releases the directory.
func (d *Dir) Close() error {
	return errors.Join(d.root.Close(), d.f.Close())
}

// ReadDirNames returns up to n entry names of d.
func (d *Dir) ReadDirNames(n int) ([]string, error) {
	f, err := d.root.Open(".")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(n)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return names, err
}

// Register writes reg into d atomically (a temporary file renamed into
// place, mode 0600) and returns the file's name in d.
func (d *Dir) Register(reg Registration) (string, error) {
	if reg.Version == 0 {
		reg.Version = Version
	}
	data, err := json.Marshal(reg)
	if err != nil {
		return "", err
	}
	name := registrationName(reg.Root, reg.PID) + ".json"
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := ".reg-" + hex.EncodeToString(rnd[:])
	if err := d.root.WriteFile(tmp, data, 0o600); err != nil {
		return "", fmt.Errorf("registering %s: %w", reg.Root, err)
	}
	if err := d.root.Rename(tmp, name); err != nil {
		d.root.Remove(tmp)
		return "", fmt.Errorf("registering %s: %w", reg.Root, err)
	}
	return name, nil
}

// Registrations reads every registration in d, with the name of its file.
// Only regular files are read (a FIFO planted as a registration cannot
// block the reader), each at most 64 KiB.
func (d *Dir) Registrations() (regs []Registration, names []string, err error) {
	entries, err := d.ReadDirNames(RunScanLimit)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, name := range entries {
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		fi, err := d.root.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 64<<10 {
			continue
		}
		data, err := d.root.ReadFile(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var reg Registration
		if err := json.Unmarshal(data, &reg); err != nil || reg.Socket == "" {
			errs = append(errs, fmt.Errorf("%s: not a registration", name))
			continue
		}
		regs = append(regs, reg)
		names = append(names, name)
	}
	return regs, names, errors.Join(errs...)
}

// Dial connects to a registered server's socket: through d's descriptor
// when the socket is in d, else by its path.
func (d *Dir) Dial(socket string, timeout time.Duration) (net.Conn, error) {
	path := socket
	if filepath.Dir(socket) == filepath.Clean(d.Path) {
		path = d.SocketPath(filepath.Base(socket))
	}
	return net.DialTimeout("unix", path, timeout)
}
