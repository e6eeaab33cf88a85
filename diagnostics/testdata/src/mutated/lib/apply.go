package lib

// Enable changes the configuration it is given.
func Enable(c *Config, flag string) {
	c.Flags[flag] = true
}
