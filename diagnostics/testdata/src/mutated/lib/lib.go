package lib

import "github.com/cachelens/cachelens/cacheruntime"

type Config struct {
	Name  string
	Flags map[string]bool
}

// Load is a cached function other packages call.
var Load = cacheruntime.Func1(func(name string) *Config {
	return &Config{Name: name, Flags: map[string]bool{}}
})

type Service struct {
	Get func(string) *Config
}

func NewService() *Service {
	return &Service{Get: cacheruntime.Func1(func(name string) *Config { return &Config{Name: name} })}
}
