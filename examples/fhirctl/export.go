package main

import "context"

// export runs a Bulk Data export.
func (a *app) export(ctx context.Context) error {
	return usagef("export: not built yet")
}
