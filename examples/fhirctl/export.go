package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fhirwarden/fhirwarden/client"
)

// maxManifest bounds the status answer; maxErrorBody an error answer.
const (
	maxManifest   = 4 << 20
	maxErrorBody  = 64 << 10
	maxRetryAfter = time.Minute
)

// maxExportFile bounds one NDJSON file (a variable for tests).
var maxExportFile int64 = 1 << 30

// manifest is the Bulk Data IG's completed-job manifest.
type manifest struct {
	TransactionTime     string         `json:"transactionTime"`
	Request             string         `json:"request"`
	RequiresAccessToken bool           `json:"requiresAccessToken"`
	Output              []manifestFile `json:"output"`
	Error               []manifestFile `json:"error"`
}

type manifestFile struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count *int   `json:"count,omitempty"`
}

// export runs a system-level Bulk Data export: kick-off (or -status of a
// job already started), polling with progress on stderr as Retry-After
// asks, then the download of every file into -dir and a summary on
// stdout. Interrupted, it says how to resume; the job is left running.
func (a *app) export(ctx context.Context) error {
	if a.ts == nil {
		return usagef("export: needs a token: -token (FHIR_TOKEN), or -client-id with -client-secret or -key")
	}
	if err := os.MkdirAll(a.cfg.dir, 0o755); err != nil {
		return fmt.Errorf("-dir: %w", err)
	}
	statusURL := a.cfg.status
	if statusURL == "" {
		var err error
		if statusURL, err = a.kickOff(ctx); err != nil {
			return err
		}
	}
	if err := a.sameServer(statusURL); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "export: status %s\n", sanitize(statusURL))
	m, err := a.poll(ctx, statusURL)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(a.stderr, "export: interrupted; the job goes on. Resume with:\n  fhirctl export -dir %s -status %s\n", a.cfg.dir, sanitize(statusURL))
		}
		return err
	}
	return a.downloadAll(ctx, m, statusURL)
}

// kickOff starts the export and returns its status URL.
func (a *app) kickOff(ctx context.Context) (string, error) {
	params := url.Values{}
	if len(a.cfg.types) > 0 {
		params.Set("_type", strings.Join(a.cfg.types, ","))
	}
	if a.cfg.since != "" {
		params.Set("_since", a.cfg.since)
	}
	res, err := a.fhir.Operation(ctx, client.OperationCall{Name: "$export", Params: params}, client.Prefer("respond-async"))
	if err != nil {
		return "", err
	}
	loc := res.Header.Get("Content-Location")
	if res.StatusCode != http.StatusAccepted || loc == "" {
		return "", fmt.Errorf("export: the server answered %d without a Content-Location; it does not run Bulk Data exports", res.StatusCode)
	}
	return loc, nil
}

// sameServer refuses URLs on another scheme or host than the base: the
// access token goes with every status and file request.
func (a *app) sameServer(raw string) error {
	u, err := url.Parse(raw)
	base, _ := url.Parse(a.fhir.BaseURL())
	if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
		return fmt.Errorf("export: %s is not on the FHIR server %s://%s; the token is not sent there", sanitize(raw), base.Scheme, base.Host)
	}
	return nil
}

// poll asks the status URL until the manifest comes, printing progress.
func (a *app) poll(ctx context.Context, statusURL string) (*manifest, error) {
	for {
		resp, body, err := a.authGet(ctx, statusURL, "application/json", maxManifest)
		if err != nil {
			return nil, err
		}
		switch resp.StatusCode {
		case http.StatusOK:
			var m manifest
			if err := json.Unmarshal(body, &m); err != nil {
				return nil, fmt.Errorf("export: the manifest is not JSON: %w", err)
			}
			return &m, nil
		case http.StatusAccepted:
			wait := retryAfter(resp.Header.Get("Retry-After"))
			progress := serverLine(resp.Header.Get("X-Progress"))
			if progress == "" {
				progress = "in progress"
			}
			fmt.Fprintf(a.stderr, "export: %s (next look in %s)\n", progress, wait)
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
		default:
			return nil, httpError(resp, body)
		}
	}
}

// retryAfter reads Retry-After (seconds or an HTTP date), 1 s when absent,
// at most a minute.
func retryAfter(v string) time.Duration {
	d := time.Second
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return min(max(d, 100*time.Millisecond), maxRetryAfter)
}

// authGet GETs u with the access token and returns the response and at
// most limit bytes of body.
func (a *app) authGet(ctx context.Context, u, accept string, limit int64) (*http.Response, []byte, error) {
	resp, err := a.authOpen(ctx, u, accept)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(body)) > limit {
		return nil, nil, fmt.Errorf("export: %s is larger than %d bytes", sanitize(u), limit)
	}
	return resp, body, nil
}

// authOpen GETs u with the access token and returns the response with
// its body still to read; the caller closes it. The FHIR client
// authorizes the request, so a DPoP-bound token goes with its scheme and
// a proof for u; a 401 asking for a DPoP nonce is answered once with a
// new proof carrying it.
func (a *app) authOpen(ctx context.Context, u, accept string) (*http.Response, error) {
	hc := &http.Client{Timeout: 5 * time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := a.authSend(ctx, hc, u, accept)
	if err != nil {
		return nil, err
	}
	if a.fhir.DPoPNonceRequested(resp) {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		if resp, err = a.authSend(ctx, hc, u, accept); err != nil {
			return nil, err
		}
		// Only the nonce is kept: a second refusal is the answer.
		_ = a.fhir.DPoPNonceRequested(resp)
	}
	return resp, nil
}

// authSend sends one GET of u, authorized by the FHIR client (a new
// proof, with the latest nonce, for each call).
func (a *app) authSend(ctx context.Context, hc *http.Client, u, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if err := a.fhir.Authorize(ctx, req); err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	return hc.Do(req)
}

// httpError turns an error answer into a *client.Error for report. Its
// URL has no user information, query or fragment, as in the client's
// own errors: a file URL's query may carry a signature or a token.
func httpError(resp *http.Response, body []byte) error {
	u := *resp.Request.URL
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	e := &client.Error{Method: resp.Request.Method, URL: u.String(), StatusCode: resp.StatusCode}
	var oo struct {
		ResourceType string `json:"resourceType"`
		client.OperationOutcome
	}
	if json.Unmarshal(body, &oo) == nil && oo.ResourceType == "OperationOutcome" {
		e.Outcome = &oo.OperationOutcome
	} else if len(body) > 0 {
		e.Body = body[:min(len(body), 4<<10)]
	}
	return e
}

// downloadAll downloads the manifest's files into -dir and prints a
// summary; error files count as an incomplete export (exit 7).
func (a *app) downloadAll(ctx context.Context, m *manifest, statusURL string) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tRESOURCES\tFILE")
	total := 0
	used := map[string]int{}
	for _, f := range append(m.Output, m.Error...) {
		name, n, err := a.download(ctx, f, used)
		if err != nil {
			return fmt.Errorf("%w (the files stay on the server: fhirctl export -dir %s -status %s)", err, a.cfg.dir, statusURL)
		}
		total += n
		fmt.Fprintf(tw, "%s\t%d\t%s\n", sanitize(f.Type), n, filepath.Join(a.cfg.dir, name))
	}
	fmt.Fprintf(tw, "total\t%d\t%d files, transaction time %s\n", total, len(m.Output)+len(m.Error), serverLine(m.TransactionTime))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(m.Error) > 0 {
		return &incompleteError{fmt.Sprintf("the server reported %d error file(s); see the OperationOutcome lines above", len(m.Error))}
	}
	return nil
}

// download fetches one file to DIR/<Type>.ndjson (or <Type>-2.ndjson, ...
// when a type has several files); the name never comes from the URL. It
// returns the name and the file's resource (non-blank line) count.
func (a *app) download(ctx context.Context, f manifestFile, used map[string]int) (string, int, error) {
	if !validType(f.Type) {
		return "", 0, fmt.Errorf("export: the manifest names a file of type %q", serverLine(f.Type))
	}
	if err := a.sameServer(f.URL); err != nil {
		return "", 0, err
	}
	used[f.Type]++
	name := f.Type + ".ndjson"
	if n := used[f.Type]; n > 1 {
		name = f.Type + "-" + strconv.Itoa(n) + ".ndjson"
	}
	resp, err := a.authOpen(ctx, f.URL, "application/fhir+ndjson")
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return "", 0, httpError(resp, body)
	}
	lines, err := saveFile(filepath.Join(a.cfg.dir, name), resp.Body, maxExportFile)
	if err != nil {
		return "", 0, fmt.Errorf("export: %s: %w", name, err)
	}
	return name, lines, nil
}

// saveFile writes what r gives, at most limit bytes, to path+".part",
// counting its non-blank lines as they go by, and renames it to path
// when all of it came. A file that fails half-way, or is larger than
// limit, is removed: it is never taken for a whole one.
func saveFile(path string, r io.Reader, limit int64) (lines int, err error) {
	part := path + ".part"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(part)
		}
	}()
	var lc lineCounter
	n, err := io.Copy(io.MultiWriter(f, &lc), io.LimitReader(r, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return 0, err
	case n > limit:
		return 0, fmt.Errorf("larger than %d bytes", limit)
	}
	return lc.count(), os.Rename(part, path)
}

// lineCounter counts the lines that are not blank in what is written to
// it.
type lineCounter struct {
	lines   int
	content bool // the current line has a character other than space
}

// Write implements io.Writer.
func (c *lineCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		switch b {
		case '\n':
			if c.content {
				c.lines++
			}
			c.content = false
		case ' ', '\t', '\r', '\v', '\f':
		default:
			c.content = true
		}
	}
	return len(p), nil
}

// count is the number of non-blank lines, the last one included when it
// has no newline.
func (c *lineCounter) count() int {
	if c.content {
		return c.lines + 1
	}
	return c.lines
}
