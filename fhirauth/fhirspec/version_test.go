package fhirspec

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want Version
	}{
		{"STU3", STU3}, {"stu3", STU3}, {"R3", STU3}, {"3.0", STU3}, {"3.0.1", STU3}, {"3.0.2", STU3},
		{"R4", R4}, {"r4", R4}, {"4.0", R4}, {"4.0.1", R4},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "R5", "4.3.0", "5.0.0", "DSTU2", "1.0.2", "R4B", " R4", "R4 ", "4", "stu3x"} {
		_, err := ParseVersion(bad)
		assert.True(t, errors.Is(err, ErrUnknownVersion), "%q: %v", bad, err)
	}
}

func TestVersionString(t *testing.T) {
	assert.Equal(t, "STU3", STU3.String())
	assert.Equal(t, "R4", R4.String())
	assert.Equal(t, "Version(0)", Version(0).String())
	assert.Equal(t, "Version(9)", Version(9).String())
	for _, v := range []Version{STU3, R4} {
		back, err := ParseVersion(v.String())
		require.NoError(t, err)
		assert.Equal(t, v, back)
		assert.True(t, v.Valid())
	}
	assert.False(t, Version(0).Valid())
	assert.False(t, Version(3).Valid())
}
