package driver

// FromExport is how many packages the last Load type-checked against
// export data (checkFromExport) rather than through go/packages.
func FromExport(p *Program) int { return p.fromExport }
