package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/fhirwarden/fhirwarden/client"
)

// maxInput bounds a resource read from a file or stdin.
const maxInput = 16 << 20

// token prints the token response JSON.
func (a *app) token(ctx context.Context) error {
	tc, ok := a.ts.(*client.TokenCache)
	if !ok {
		return usagef("token: needs -client-id with -client-secret or -key")
	}
	if _, err := tc.TokenContext(ctx); err != nil {
		return err
	}
	if len(a.capture.Last()) == 0 {
		return errors.New("token: no token response captured")
	}
	return a.printJSON(a.capture.Last())
}

func (a *app) get(ctx context.Context) error {
	typ, id, _ := client.SplitReference(a.cfg.args[0])
	res, err := a.fhir.Read(ctx, typ, id)
	if err != nil {
		return err
	}
	return a.printJSON(res.Body)
}

func (a *app) capabilities(ctx context.Context) error {
	res, err := a.fhir.Capabilities(ctx)
	if err != nil {
		return err
	}
	return a.printJSON(res.Body)
}

// search follows next links and writes the entries of each page in the
// -o format as the page comes (a table at the end: its columns fit every
// row); progress goes to stderr. Stopping at -max-pages ends the output
// as if the search had ended, and exits 7. A failure after some pages
// were written leaves them on stdout, says so on stderr and exits with
// the failure's status.
func (a *app) search(ctx context.Context) error {
	params := url.Values{}
	for _, p := range a.cfg.args[1:] {
		k, v, _ := strings.Cut(p, "=")
		params.Add(k, v)
	}
	out := a.entryWriter()
	var read, pages, written int // entries read; pages and entries written
	for page, err := range a.fhir.Search(ctx, a.cfg.args[0], params) {
		if errors.Is(err, client.ErrPageLimit) {
			if err := out.finish(); err != nil {
				return err
			}
			return &incompleteError{fmt.Sprintf("stopped at -max-pages %d with %d entries; the server has more results (raise -max-pages)", a.cfg.maxPages, read)}
		}
		if err == nil {
			read += len(page.Entries)
			a.progress(page, read)
			err = out.page(page.Entries, page.Total)
		}
		if err != nil {
			a.reportCut(pages, written)
			return err
		}
		pages, written = pages+1, written+len(page.Entries)
	}
	return out.finish()
}

// progress says on stderr how far the search has come.
func (a *app) progress(page *client.Page, read int) {
	total := "?"
	if page.Total != nil {
		total = fmt.Sprint(*page.Total)
	}
	fmt.Fprintf(a.stderr, "page %d: %d entries (%d so far, total %s)\n", page.Number, len(page.Entries), read, total)
}

// reportCut says on stderr that stdout holds only the first pages of a
// search that then failed: the exit status is the failure's, and a
// reader of the output is told it is not the whole result.
func (a *app) reportCut(pages, entries int) {
	if pages == 0 || a.cfg.output == "table" {
		return // nothing written
	}
	unclosed := ""
	if a.cfg.output == "json" {
		unclosed = "; the Bundle is left unclosed"
	}
	fmt.Fprintf(a.stderr, "fhirctl: incomplete output: the search failed after page %d (%d entries written)%s\n", pages, entries, unclosed)
}

func (a *app) create(ctx context.Context) error {
	body, err := a.readInput(a.cfg.args[1])
	if err != nil {
		return err
	}
	res, err := a.fhir.Create(ctx, a.cfg.args[0], body, client.Prefer("return=representation"))
	if err != nil {
		return err
	}
	return a.printResult(res, "created")
}

// update sends If-Match from meta.versionId when the resource has one, so
// a resource edited after a get is not written over a newer version.
func (a *app) update(ctx context.Context) error {
	typ, id, _ := client.SplitReference(a.cfg.args[0])
	body, err := a.readInput(a.cfg.args[1])
	if err != nil {
		return err
	}
	opts := []client.RequestOption{client.Prefer("return=representation")}
	if v := (&client.Result{Body: body}).VersionID(); v != "" {
		opts = append(opts, client.IfMatch(v))
	}
	res, err := a.fhir.Update(ctx, typ, id, body, opts...)
	if err != nil {
		return err
	}
	return a.printResult(res, "updated")
}

func (a *app) delete(ctx context.Context) error {
	typ, id, _ := client.SplitReference(a.cfg.args[0])
	res, err := a.fhir.Delete(ctx, typ, id)
	if err != nil {
		return err
	}
	return a.printResult(res, "deleted "+a.cfg.args[0])
}

// printResult prints the body if any, else a note with the Location.
func (a *app) printResult(res *client.Result, what string) error {
	if len(bytes.TrimSpace(res.Body)) > 0 {
		return a.printJSON(res.Body)
	}
	if loc := res.Location(); loc != "" {
		fmt.Fprintf(a.stderr, "%s: %s\n", what, serverLine(loc))
	} else {
		fmt.Fprintf(a.stderr, "%s (HTTP %d)\n", what, res.StatusCode)
	}
	return nil
}

// readInput reads FILE, or stdin for "-".
func (a *app) readInput(name string) ([]byte, error) {
	var r io.Reader = a.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, maxInput)
	}
	return data, nil
}

// printJSON pretty-prints JSON on stdout.
func (a *app) printJSON(data []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(data), "", "  "); err != nil {
		return fmt.Errorf("the server's answer is not JSON: %w", err)
	}
	buf.WriteByte('\n')
	_, err := a.stdout.Write(escapeControls(buf.Bytes()))
	return err
}
