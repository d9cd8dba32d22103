package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Postman collection in examples/postman is run by newman in CI
// (examples/postman/run.sh). This test replays it without Node: every
// request in order, variables substituted, Basic and OAuth 2.0 auth
// applied, tokens saved as the collection's scripts save them, and the
// status each script asserts (pm.response.to.have.status(N)) checked. It
// catches drift between the collection, its environment and the server.
//
// Secured requests use Postman's OAuth 2.0 authorization, as the Care
// Connect guide's steps 2 and 3 show it: the test checks the dialog's
// settings (client credentials, Basic Auth header) by getting a token
// with them, as Postman's "Get New Access Token" does, and then sends the
// auth's Access Token, as newman does (newman fetches no token itself).

type pmAuthKV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type pmItem struct {
	Name  string   `json:"name"`
	Item  []pmItem `json:"item"`
	Event []struct {
		Listen string `json:"listen"`
		Script struct {
			Exec []string `json:"exec"`
		} `json:"script"`
	} `json:"event"`
	Request *struct {
		Method string `json:"method"`
		URL    string `json:"url"`
		Header []pmAuthKV
		Auth   *struct {
			Type   string     `json:"type"`
			Basic  []pmAuthKV `json:"basic"`
			Bearer []pmAuthKV `json:"bearer"`
			OAuth2 []pmAuthKV `json:"oauth2"`
		} `json:"auth"`
		Body *struct {
			Mode       string     `json:"mode"`
			Raw        string     `json:"raw"`
			URLEncoded []pmAuthKV `json:"urlencoded"`
		} `json:"body"`
	} `json:"request"`
}

func flatten(items []pmItem) []pmItem {
	var out []pmItem
	for _, it := range items {
		if it.Request != nil {
			out = append(out, it)
		}
		out = append(out, flatten(it.Item)...)
	}
	return out
}

var (
	statusAssert = regexp.MustCompile(`to\.have\.status\((\d{3})\)`)
	saveToken    = regexp.MustCompile(`pm\.environment\.set\("(\w+)", body\.access_token\)`)
	variable     = regexp.MustCompile(`\{\{(\w+)\}\}`)
)

func TestPostmanCollectionAgainstServer(t *testing.T) {
	var coll struct {
		Info struct{ Schema string } `json:"info"`
		Item []pmItem                `json:"item"`
	}
	var env struct {
		Values []struct{ Key, Value string } `json:"values"`
	}
	readJSON := func(path string, v any) {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, v))
	}
	readJSON("../../postman/careconnect.postman_collection.json", &coll)
	readJSON("../../postman/careconnect.postman_environment.json", &env)
	assert.Equal(t, "https://schema.getpostman.com/json/collection/v2.1.0/collection.json", coll.Info.Schema)

	r := start(t)
	s := r.srv
	vars := map[string]string{}
	for _, v := range env.Values {
		vars[v.Key] = v.Value
	}
	vars["baseUrl"], vars["fhirBase"], vars["tokenUrl"] = s.URL(), s.BaseURL(), s.TokenURL()
	expand := func(in string) string {
		return variable.ReplaceAllStringFunc(in, func(m string) string { return vars[m[2:len(m)-2]] })
	}

	requests := flatten(coll.Item)
	require.GreaterOrEqual(t, len(requests), 15)
	statuses := map[int]int{}
	oauth2 := 0
	for _, it := range requests {
		t.Run(it.Name, func(t *testing.T) {
			script := ""
			for _, e := range it.Event {
				if e.Listen == "test" {
					script += strings.Join(e.Script.Exec, "\n")
				}
			}
			m := statusAssert.FindStringSubmatch(script)
			require.NotNil(t, m, "every request asserts its status")
			want, _ := strconv.Atoi(m[1])

			rq := it.Request
			var body io.Reader
			if rq.Body != nil {
				switch rq.Body.Mode {
				case "raw":
					body = strings.NewReader(expand(rq.Body.Raw))
				case "urlencoded":
					form := url.Values{}
					for _, kv := range rq.Body.URLEncoded {
						form.Add(kv.Key, expand(kv.Value))
					}
					body = strings.NewReader(form.Encode())
				}
			}
			req, err := http.NewRequest(rq.Method, expand(rq.URL), body)
			require.NoError(t, err)
			for _, h := range rq.Header {
				req.Header.Set(h.Key, expand(h.Value))
			}
			if rq.Auth != nil {
				kv := func(list []pmAuthKV, k string) string {
					for _, x := range list {
						if x.Key == k {
							return expand(x.Value)
						}
					}
					return ""
				}
				switch rq.Auth.Type {
				case "basic":
					req.SetBasicAuth(kv(rq.Auth.Basic, "username"), kv(rq.Auth.Basic, "password"))
				case "bearer":
					t.Errorf("%s: plain Bearer auth; the collection uses Postman's OAuth 2.0 dialog", it.Name)
				case "oauth2":
					o := func(k string) string { return kv(rq.Auth.OAuth2, k) }
					assert.Equal(t, "client_credentials", o("grant_type"))
					assert.Equal(t, "header", o("client_authentication"), "Send as Basic Auth header")
					assert.Equal(t, s.TokenURL(), o("accessTokenUrl"))
					assert.Equal(t, "header", o("addTokenTo"))
					dialog := tokenFor(t, s, o("clientId"), o("clientSecret"), o("scope"))
					require.Equal(t, http.StatusOK, dialog.status, "Get New Access Token with the dialog's settings: %s", dialog.body)
					req.Header.Set("Authorization", o("headerPrefix")+" "+o("accessToken"))
					oauth2++
				}
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			require.Equal(t, want, resp.StatusCode, string(b))
			statuses[want]++
			if sm := saveToken.FindStringSubmatch(script); sm != nil && resp.StatusCode == http.StatusOK {
				var tr struct {
					AccessToken string `json:"access_token"`
				}
				require.NoError(t, json.Unmarshal(b, &tr))
				vars[sm[1]] = tr.AccessToken
			}
		})
	}
	assert.GreaterOrEqual(t, oauth2, 12, "the secured requests use OAuth 2.0 authorization")
	assert.Positive(t, statuses[401], "the walk-through shows a 401")
	assert.Positive(t, statuses[403], "the walk-through shows a 403")
	assert.GreaterOrEqual(t, statuses[200], 12)
}
