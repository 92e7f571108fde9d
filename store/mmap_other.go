//go:build !linux

package store

// dropMapped is a no-op where it is not implemented (see mmap_linux.go).
func (db *DB) dropMapped() {}
