package lib

import "unhashable/lib2"

func Load(c lib2.Conn, key string) string { return c.Addr + key }
