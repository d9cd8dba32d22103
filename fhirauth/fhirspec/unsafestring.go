package fhirspec

import "unsafe"

// bytesString views b as a string without copying. Callers use the result
// only while b is unchanged and clone it before keeping it.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
