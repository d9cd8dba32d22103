// Command serve serves.
//
//	serve -addr 127.0.0.1:0 --verbose
//
// The -address flag does not exist; -port.
package main
