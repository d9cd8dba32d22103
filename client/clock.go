package client

import "time"

// Clock tells the time. Tests inject a fake one (WithClock) to move token
// expiry forward without sleeping.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

// Now returns the wall-clock time.
func (systemClock) Now() time.Time { return time.Now() }
