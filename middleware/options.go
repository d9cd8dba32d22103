package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxResponseSize limits the responses the middleware buffers to
// check (patient-context reads and searches, batches with denied
// entries). A larger response is refused with 502: it is never passed
// on unchecked.
const DefaultMaxResponseSize = 16 << 20

// Defaults, each overridable by an option.
const (
	// defaultRealm is the realm of WWW-Authenticate challenges.
	defaultRealm = "fhir"
	// defaultRetryAfter is the Retry-After of 503 answers when the
	// authenticator's infrastructure (JWKS, introspection) is unavailable.
	defaultRetryAfter = 5 * time.Second
)

// Option configures a Middleware. Invalid options make New fail.
type Option func(*config) error

type config struct {
	realm         string
	public        []endpoint
	defaultPublic bool
	narrow        bool
	stored        bool
	streamChecks  bool
	formTokens    bool
	maxToken      int
	maxResponse   int64
	budget        *checkBudget // bytes held by checks, all requests together
	maxBody       int64
	retryAfter    time.Duration
	bodyTimeout   time.Duration // reading a body the middleware judges
	audit         func(context.Context, AuditRecord)
	metrics       func(DecisionMetric)
	onError       ErrorHandler
	requestIDs    bool
	logger        *slog.Logger
	loggerSet     bool
	dpop          *dpopSetup // nil: the Bearer scheme only
	mtls          bool       // WithMTLSBinding
}

// endpoint is a public endpoint: an exact method and escaped path and,
// when restricted, the only query parameters it may be called with.
type endpoint struct {
	method, path string
	restricted   bool
	params       []string
	// unescaped is path unescaped: a request's URL.Path must equal it
	// for its escaped path to equal path (set by New; "" when path cannot
	// be unescaped, and then the escaped path is always compared).
	unescaped string
}

// WithRealm sets the realm of WWW-Authenticate challenges (default "fhir").
// Like every challenge parameter it is sent with a quote as an
// apostrophe, and a backslash, control and non-ASCII characters as '?'.
func WithRealm(realm string) Option {
	return func(c *config) error {
		if realm == "" {
			return errors.New("middleware: empty realm")
		}
		c.realm = realm
		return nil
	}
}

// WithPublicEndpoint lets requests with exactly this method and path pass
// without a token (the next handler runs with no Principal and no
// Decision). path is absolute (it includes the FHIR base path) and is
// compared byte for byte with the request's escaped path: no prefix
// matching, no cleaning, so "/fhir/./metadata" or "/fhir/%6detadata" are
// not public when "/fhir/metadata" is. By default GET {base}/metadata and
// GET {base}/.well-known/smart-configuration are public.
func WithPublicEndpoint(method, path string) Option {
	return func(c *config) error {
		if method == "" || strings.ContainsAny(method, " \t\r\n") {
			return fmt.Errorf("middleware: public endpoint method %q is not valid", method)
		}
		if err := checkPublicPath(path); err != nil {
			return err
		}
		c.public = append(c.public, endpoint{method: method, path: path})
		return nil
	}
}

// WithoutDefaultPublicEndpoints makes GET {base}/metadata and GET
// {base}/.well-known/smart-configuration require a token like everything
// else (endpoints added by WithPublicEndpoint stay public).
func WithoutDefaultPublicEndpoints() Option {
	return func(c *config) error {
		c.defaultPublic = false
		return nil
	}
}

// WithQueryNarrowing turns the rewriting of narrowed searches on (the
// default) or off. When on, the middleware adds the Decision's narrowing
// parameters (the patient compartment, SMART v2 scope constraints) to the
// query string, and to the form body of POST _search (a form body is
// written even when the client sent none: some servers search with the
// body alone), so that a FHIR server which knows nothing of fhirwarden
// returns only what the caller may see. An operation whose parameters come in a POSTed Parameters body
// cannot be narrowed that way and is refused with 400 when its decision
// narrows (send its parameters in the query instead). A server that
// narrows natively (it reads DecisionFrom) may turn it off; leaving it on
// is harmless because the rewrite is idempotent. A rewritten query is
// re-encoded (sorted, escaped as url.Values.Encode does), so the server
// reads exactly the parameters fhirauth judged. A GET whose query already
// holds every narrowing value and needs nothing removed (a patient app
// searching with patient=its own id) is passed on as sent, but only when
// it is written plainly enough that every server reads it alike: name=value
// pairs of letters, digits and "-._~:/|,*", nothing to unescape; otherwise
// it is re-encoded too.
func WithQueryNarrowing(on bool) Option {
	return func(c *config) error {
		c.narrow = on
		return nil
	}
}

// WithStoredChecks turns on (the default) or off the middleware's own
// check of the stored version before a write that needs one (updates,
// patches and deletes under patient/ scopes or v2 constraints; see
// fhirauth.Decision.NeedsStoredCheck). When on, the middleware reads the
// stored resource with a GET of {base}/Type/id through the wrapped handler,
// runs Decision.CheckStored on it, refuses the write when it fails, and
// pins the write (update, patch or delete, single or a Bundle entry's
// request.ifMatch) to the checked version with If-Match: W/"<versionId>",
// so that a server honouring If-Match refuses it when another writer
// changed the resource after the check (a server that ignores If-Match
// on a delete or a patch carries it out unprotected). A stored version
// naming no version (neither meta.versionId nor an ETag), or naming two,
// refuses the write with 502: it could not be pinned. A client If-Match
// naming another version is refused with 412; a delete of a resource
// that does not exist gets the same 404 as a withheld one when the
// policy hides existence. The entries of a batch or
// transaction are read up to 8 at a time; a transaction is refused for
// its lowest-numbered failing entry. A server
// that runs CheckStored against its own stored copy inside the write (no
// window between check and write) turns it off.
func WithStoredChecks(on bool) Option {
	return func(c *config) error {
		c.stored = on
		return nil
	}
}

// WithStreamedChecks turns on (the default) or off the checking of
// search-set Bundles as they stream (fhirauth.BundleStream): the entries
// are checked one by one as the handler writes them and sent on as they
// pass, so a checked search holds one entry and 32 KiB of output rather
// than the whole Bundle. Responses that cannot stream (not a 2xx JSON
// Bundle of a search, compressed, resourceType or type after the
// entries, a type other than searchset) are buffered and checked whole
// as when it is off. A streamed response that fails its check after it
// began (a second entry member, a type of history after the entries,
// invalid JSON, bytes after the Bundle, the size limit, the upstream
// breaking off) is aborted: the handler panics with http.ErrAbortHandler
// after the audit record (ErrorKind ReasonAborted), and net/http closes
// the connection before the chunked body ends, so that no client takes
// the part for a whole Bundle. Turn it off where a response must never
// be cut short, at the cost of buffering each checked search whole.
func WithStreamedChecks(on bool) Option {
	return func(c *config) error {
		c.streamChecks = on
		return nil
	}
}

// WithFormBodyTokens accepts an access_token parameter in an
// application/x-www-form-urlencoded request body when no Authorization
// header is sent (RFC 6750 section 2.2). It is off by default: such
// requests are refused with 400. The parameter is removed from the body
// before the next handler reads it.
func WithFormBodyTokens() Option {
	return func(c *config) error {
		c.formTokens = true
		return nil
	}
}

// WithMaxTokenSize limits the bearer token (default
// token.DefaultMaxTokenSize, the token package's own limit); an
// Authorization header longer than this plus "Bearer " is refused with 401
// before it is parsed. Raise it with token.WithMaxTokenSize.
func WithMaxTokenSize(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("middleware: max token size %d must be positive", n)
		}
		c.maxToken = n
		return nil
	}
}

// WithMaxResponseSize limits responses buffered for checking (default
// DefaultMaxResponseSize). A response that exceeds it is replaced by a 502
// OperationOutcome: fail closed.
func WithMaxResponseSize(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("middleware: max response size %d must be positive", n)
		}
		c.maxResponse = n
		return nil
	}
}

// WithRetryAfter sets the Retry-After of 503 answers given when the
// authenticator's infrastructure fails (default 5 s; rounded
// up to whole seconds).
func WithRetryAfter(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("middleware: Retry-After %v must be positive", d)
		}
		c.retryAfter = d
		return nil
	}
}

// DefaultBodyReadTimeout bounds the time the middleware waits for a
// request body it reads (see WithBodyReadTimeout): the default 8 MiB
// body limit of fhirauth at about 2.3 Mbit/s.
const DefaultBodyReadTimeout = 30 * time.Second

// WithBodyReadTimeout bounds the time the middleware spends reading a
// request body it must judge (a write's body, a Bundle, a form body with
// a token or search parameters; default DefaultBodyReadTimeout): from
// its first read, the body must arrive whole within d. One that does not
// is answered 408 with an OperationOutcome, and the connection closed;
// its bytes go back to the check-memory budget at once rather than being
// held for as long as the client dribbles them. The deadline is set with
// http.ResponseController.SetReadDeadline (a ResponseWriter that cannot
// set one leaves the server's ReadTimeout in charge, and so does a server
// whose ReadTimeout is not longer than d, since it runs from the start of
// the request), and cleared once the body has been read, so that the
// wrapped handler's work is not cut short by it. A body the middleware
// does not read goes to the wrapped handler unbounded by it.
func WithBodyReadTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("middleware: body read timeout %v must be positive", d)
		}
		c.bodyTimeout = d
		return nil
	}
}

// WithAudit sends one AuditRecord per request to fn, after the response is
// written, instead of the default slog line. fn runs on the request's
// goroutine: it should be quick (hand the record to a channel when it is
// not).
func WithAudit(fn func(context.Context, AuditRecord)) Option {
	return func(c *config) error {
		if fn == nil {
			return errors.New("middleware: nil audit function")
		}
		c.audit = fn
		return nil
	}
}

// WithLogger sets the logger of the default audit records (at Info level)
// and of operational notes such as filtered search results (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("middleware: nil logger")
		}
		c.logger = l
		c.loggerSet = true
		return nil
	}
}

// checkPublicPath accepts an absolute path without dot or empty segments,
// query or fragment.
func checkPublicPath(path string) error {
	if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "?# \t\r\n") {
		return fmt.Errorf("middleware: public endpoint path %q must be an absolute path without query or fragment", path)
	}
	if path == "/" {
		return nil
	}
	for seg := range strings.SplitSeq(path[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("middleware: public endpoint path %q has an empty or dot segment", path)
		}
	}
	return nil
}

func (c *config) retryAfterValue() string {
	s := int64((c.retryAfter + time.Second - 1) / time.Second)
	return strconv.FormatInt(s, 10)
}
