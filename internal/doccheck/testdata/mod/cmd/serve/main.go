package main

import (
	"flag"
	"fmt"
)

func main() {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "", "listen address")
	var verbose bool
	fs.BoolVar(&verbose, "verbose", false, "talk")
	var secret string
	fs.StringVar(&secret, "secret", "", "undocumented")
	port := flag.Int("port", 0, "port")
	level := flag.String("l", "info", "log level")
	fmt.Println(*addr, verbose, secret, *port, *level)
}
