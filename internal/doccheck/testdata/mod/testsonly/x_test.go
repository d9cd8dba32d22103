package testsonly

import "testing"

func TestX(t *testing.T) {}
