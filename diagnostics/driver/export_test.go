package driver

// FromExport is how many packages the last Load type-checked against
// export data (checkFromExport) rather than through go/packages.
func FromExport(p *Program) int { return p.fromExport }

// MetaKept reports whether the last Load took its metadata from the
// cache instead of go list.
func MetaKept(p *Program) bool { return p.metaKept }
