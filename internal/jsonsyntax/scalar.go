package jsonsyntax

// SkipSpace returns the index of the first byte at or after data[i] that
// is not JSON space (' ', '\t', '\n', '\r'), or len(data). It takes a
// string too, for decoders that read one; it is inlined either way.
func SkipSpace[T ~string | ~[]byte](data T, i int) int {
	// Bytes above ' ' (nearly all) are answered by one comparison.
	for i < len(data) && data[i] <= ' ' && (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r') {
		i++
	}
	return i
}

// ScanNumber consumes the JSON number -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// that starts at data[i] and returns the index just after it, or -1 when
// none starts there. What follows the number is the caller's to check:
// ScanNumber stops before the first byte that cannot continue it. (It is
// not generic like SkipSpace: a generic call costs Valid measurably.)
func ScanNumber(data []byte, i int) int {
	n := len(data)
	if i < n && data[i] == '-' {
		i++
	}
	switch {
	case i < n && data[i] == '0':
		i++
	case i < n && '1' <= data[i] && data[i] <= '9':
		i = digits(data, i)
	default:
		return -1
	}
	if i < n && data[i] == '.' {
		j := digits(data, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(data, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(data []byte, i int) int {
	for i < len(data) && '0' <= data[i] && data[i] <= '9' {
		i++
	}
	return i
}
