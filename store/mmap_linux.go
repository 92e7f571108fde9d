//go:build linux

package store

import (
	"syscall"
	"unsafe"

	bolt "go.etcd.io/bbolt"
)

// dropMapped tells the kernel that the process no longer needs the pages
// of quarry.db it has read through bbolt's memory map: they leave its
// resident set but stay in the page cache, and the next read maps them
// again (a minor fault). Ingestion reads every committed page back once
// (the indexer reads what was committed), which would otherwise keep the
// whole file resident, its size growing with the corpus.
func (db *DB) dropMapped() {
	db.bolt.View(func(tx *bolt.Tx) error {
		// The read transaction holds bbolt's mmap lock: the mapping cannot
		// move or shrink meanwhile, and it spans at least tx.Size() bytes.
		info := db.bolt.Info()
		base := *(*unsafe.Pointer)(unsafe.Pointer(&info.Data))
		syscall.Madvise(unsafe.Slice((*byte)(base), int(tx.Size())), syscall.MADV_DONTNEED)
		return nil
	})
}
