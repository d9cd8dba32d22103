package client

import (
	"testing"
)

// TestTokenResponseStrictJSON: a token response is read by the one rule
// for JSON member names (internal/jsonsyntax). Two members a parser may
// take for one (equal, equal once unquoted, or equal under case folding,
// as encoding/json matches struct fields) are refused rather than
// letting the last one win, and so is data after the object: what the
// client uses is then what any other reader of the answer would read.
func TestTokenResponseStrictJSON(t *testing.T) {
	const at = `"access_token":"tok-1","token_type":"Bearer"`
	refused := func(name, body string) hostileAnswer {
		return hostileAnswer{name: name, status: 200, ctype: "application/json", body: body, want: ErrUnexpectedResponse}
	}
	checkHostileAnswers(t, []hostileAnswer{
		refused("access_token twice", `{`+at+`,"access_token":"tok-2"}`),
		refused("access_token in another case", `{`+at+`,"Access_Token":"tok-2"}`),
		refused("access_token escaped", `{`+at+`,"\u0061ccess_token":"tok-2"}`),
		refused("token_type twice", `{"access_token":"tok-1","token_type":"DPoP","token_type":"Bearer"}`),
		refused("expires_in twice", `{`+at+`,"expires_in":60,"expires_in":86400}`),
		refused("error twice", `{`+at+`,"error":"invalid_client","error":""}`),
		refused("data after the object", `{`+at+`} {"access_token":"tok-2"}`),
		refused("name not UTF-8", "{"+at+",\"x\xff\":1}"),
		{name: "nested names are not read", status: 200, ctype: "application/json", body: `{` + at + `,"authorization_details":{"a":1,"a":2}}`, sent: "Bearer tok-1"},
		{name: "space around", status: 200, ctype: "application/json", body: " \n{" + at + "}\n", sent: "Bearer tok-1"},
	})
}
