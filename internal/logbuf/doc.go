// Package logbuf is a goroutine-safe text buffer for the tests that read a
// server's log or a command's output while the server is still writing it.
//
//	var logs logbuf.Buffer
//	logger := slog.New(slog.NewTextHandler(&logs, nil))
//	srv := start(logger)          // writes from its own goroutines
//	...
//	if strings.Contains(logs.String(), token) {
//		t.Fatal("the token was logged")
//	}
//
// The zero Buffer is ready to use; it must not be copied after first use.
package logbuf
