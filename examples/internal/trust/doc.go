// Package trust is the command-line side of trusting identity providers,
// shared by the example programs: the repeatable -issuer, -audience and
// -profile flags, and the token.Authenticator they describe.
//
//	var f trust.Flags
//	f.Register(fs)
//	fs.Parse(args)
//	auth, err := f.Authenticator(ctx, token.WithLogger(logger))
//	defer auth.Close()
package trust
