package sample

// NHSNumberSystem is the identifier system of NHS numbers.
const NHSNumberSystem = "https://fhir.nhs.uk/Id/nhs-number"

// NHSCheckDigit returns the Modulus 11 check digit of the first nine digits
// of an NHS number, and false when those digits cannot form a valid number
// (the check digit would be 10) or are not nine decimal digits.
func NHSCheckDigit(nine string) (byte, bool) {
	if len(nine) != 9 {
		return 0, false
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := nine[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sum += int(c-'0') * (10 - i)
	}
	check := 11 - sum%11
	switch check {
	case 11:
		return '0', true
	case 10:
		return 0, false
	default:
		return byte('0' + check), true
	}
}

// ValidNHSNumber reports whether s is ten digits with a correct check digit.
func ValidNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	d, ok := NHSCheckDigit(s[:9])
	return ok && s[9] == d
}
