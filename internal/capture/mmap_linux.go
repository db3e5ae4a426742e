package capture

import (
	"os"
	"syscall"
)

// mapFile maps a regular file read-only. Reading a capture through a
// mapping hands out packets straight from the page cache: no read system
// calls and no copy of every byte into a buffer, which is a third of the
// CPU time of metering a file that is already cached.
func mapFile(f *os.File, size int64) ([]byte, error) {
	return syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
}

func unmapFile(b []byte) error { return syscall.Munmap(b) }

// releasePages tells the kernel the process is done with b (page-aligned),
// so consumed pages leave the resident set: the file stays in the page
// cache, but the flow meter's RSS stays flat however large the capture.
func releasePages(b []byte) { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) }

// adviseSequential asks for aggressive read-ahead.
func adviseSequential(b []byte) { _ = syscall.Madvise(b, syscall.MADV_SEQUENTIAL) }

// madvPopulateRead is Linux's MADV_POPULATE_READ (5.14+), missing from the
// syscall package.
const madvPopulateRead = 22

// populate maps b's pages in one call instead of one page fault at a time;
// kernels without MADV_POPULATE_READ refuse it and faults do the work.
func populate(b []byte) { _ = syscall.Madvise(b, madvPopulateRead) }
