// Package nodoc has its comment in the wrong file.
package nodoc

// N is documented.
const N = 1
