package fhirauth

import "unsafe"

// bytesToString views b as a string without copying. The caller must not
// keep the string beyond the life of b's contents or modify b meanwhile;
// fhirauth uses it only for keys compared during a scan.
func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
