package lsp

import (
	"bytes"
	"slices"

	"github.com/cachelens/cachelens/diagnostics/driver"
	"github.com/cachelens/cachelens/server/internal/annotate"
	"github.com/cachelens/cachelens/server/internal/document"
	"github.com/cachelens/cachelens/server/internal/srcfile"
	"github.com/cachelens/cachelens/server/internal/workspace"
)

// onFindings receives new static findings from the workspace.
func (s *Server) onFindings(f *workspace.Findings) {
	s.mu.Lock()
	old := s.findings
	s.findings = f
	s.mu.Unlock()
	for _, err := range f.Errors {
		var pe driver.PackageError
		if !asPackageError(err, &pe) {
			s.logf("%v", err) // an analyzer failed
		}
	}
	files := map[string]bool{}
	for path := range f.ByFile {
		files[path] = true
	}
	if old != nil {
		for path := range old.ByFile {
			files[path] = true
		}
	}
	s.publish(mapKeys(files))
}

func asPackageError(err error, pe *driver.PackageError) bool {
	p, ok := err.(driver.PackageError)
	if ok {
		*pe = p
	}
	return ok
}

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// republishAll republishes every file that has, or had, diagnostics, and
// every file programs reported about.
func (s *Server) republishAll() {
	files := map[string]bool{}
	snap := s.store.Snapshot()
	for _, d := range snap.Defs {
		files[d.Key.File] = true
		for _, st := range d.Sites {
			files[st.Key.File] = true
		}
	}
	s.pubMu.Lock()
	for f := range s.published {
		files[f] = true
	}
	s.pubMu.Unlock()
	if len(s.prod.Snapshot().Series) > 0 {
		for _, f := range s.openPaths() {
			files[f] = true // production data may concern them
		}
	}
	s.mu.Lock()
	if s.findings != nil {
		for f := range s.findings.ByFile {
			files[f] = true
		}
	}
	s.mu.Unlock()
	s.publish(mapKeys(files))
}

// publish sends the diagnostics of each file: static findings and what
// running programs found. An empty list clears a file.
func (s *Server) publish(paths []string) {
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	s.mu.Lock()
	f := s.findings
	settings := s.settings
	state := s.state
	s.mu.Unlock()
	if state != stateRunning {
		return
	}
	snap := s.store.Snapshot()
	for _, path := range paths {
		diags := []lspDiagnostic{}
		var version *int32
		if f != nil && len(f.ByFile[path]) > 0 {
			text, ok := f.Texts[path]
			if !ok {
				text, _ = srcfile.Read(path)
			}
			v, known := s.versionOf(path, text)
			if known {
				version = &v
			}
			adoc := document.New(string(fileURI(path)), path, v, text)
			for _, fd := range f.ByFile[path] {
				diags = append(diags, s.staticDiagnostic(adoc, fd))
			}
		}
		if settings.RuntimeDiagnostics {
			pl := s.ann.Place(snap, path)
			if len(pl.Defs) > 0 || len(pl.Sites) > 0 {
				cur := document.New(string(fileURI(path)), path, 0, pl.Text)
				for _, rd := range pl.RuntimeDiagnostics() {
					diags = append(diags, s.runtimeDiagnostic(cur, rd))
				}
			}
		}
		diags = append(diags, s.prodDiagnostics(path)...)
		if len(diags) == 0 && !s.published[path] {
			continue // nothing to say, nothing to clear
		}
		s.published[path] = len(diags) > 0
		if !s.caps.versioned {
			version = nil
		}
		s.notify("textDocument/publishDiagnostics", publishParams{URI: string(fileURI(path)), Version: version, Diagnostics: diags})
	}
}

// versionOf finds the version of an open document whose text was text.
func (s *Server) versionOf(path string, text []byte) (int32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[path]
	if ok && bytes.Equal(d.Text, text) {
		return d.Version, true
	}
	return 0, false
}

func (s *Server) staticDiagnostic(d *document.Document, fd driver.Finding) lspDiagnostic {
	enc := s.encoding()
	out := lspDiagnostic{
		Range:    toRange(d, fd.Pos.Offset, fd.End.Offset, enc),
		Severity: int(annotate.Warning),
		Code:     fd.Analyzer,
		Source:   "cachelens",
		Message:  fd.Message,
	}
	for _, r := range fd.Related {
		rd := d
		if r.Pos.Filename != d.Path {
			text, err := srcfile.Read(r.Pos.Filename)
			if err != nil {
				continue
			}
			rd = document.New("", r.Pos.Filename, 0, text)
		}
		var ri relatedInfoLSP
		ri.Location.URI = string(fileURI(r.Pos.Filename))
		ri.Location.Range = toRange(rd, r.Pos.Offset, r.End.Offset, enc)
		ri.Message = r.Message
		out.RelatedInformation = append(out.RelatedInformation, ri)
	}
	return out
}

func (s *Server) runtimeDiagnostic(d *document.Document, rd annotate.Diag) lspDiagnostic {
	enc := s.encoding()
	out := lspDiagnostic{
		Range:    toRange(d, rd.Start, rd.End, enc),
		Severity: int(rd.Severity),
		Code:     rd.Code,
		Source:   "cachelens",
		Message:  rd.Message,
	}
	for _, r := range rd.Related {
		var ri relatedInfoLSP
		ri.Location.URI = string(fileURI(r.Path))
		ri.Location.Range = lspRange{position{max(0, r.Line-1), 0}, position{max(0, r.Line-1), 0}}
		ri.Message = r.Message
		out.RelatedInformation = append(out.RelatedInformation, ri)
	}
	return out
}
