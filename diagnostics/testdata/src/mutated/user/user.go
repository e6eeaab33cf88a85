package user

import "mutated/lib"

func use(s *lib.Service) {
	cfg := lib.Load("x")
	cfg.Flags["debug"] = true // want `assignment to cfg\.Flags\["debug"\] changes the result cached by Load`
	got := s.Get("y")
	got.Name = "z" // want `assignment to got\.Name changes the result cached by Get`
}

func enable() {
	lib.Enable(lib.Load("z"), "x") // want `Enable, which changes its argument \(assignment to c\.Flags\[flag\]\), changes the result cached by Load`
}
