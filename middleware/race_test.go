//go:build race

package middleware_test

// raceEnabled: the race detector adds allocations, so allocation budgets
// are asserted only without it.
const raceEnabled = true
