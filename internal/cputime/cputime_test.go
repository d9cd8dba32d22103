//go:build unix

package cputime

import (
	"crypto/sha256"
	"testing"
	"time"
)

// Work on this goroutine shows up in the process's CPU time.
func TestProcessCountsWork(t *testing.T) {
	start := Process()
	if start <= 0 {
		t.Fatalf("Process() = %v, want the CPU time used so far", start)
	}
	sum := sha256.Sum256(nil)
	for deadline := time.Now().Add(50 * time.Millisecond); time.Now().Before(deadline); {
		sum = sha256.Sum256(sum[:])
	}
	if used := Process() - start; used < 10*time.Millisecond {
		t.Fatalf("50 ms of hashing used %v of CPU time", used)
	}
}
