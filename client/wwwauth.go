package client

import "strings"

// challenge is one WWW-Authenticate challenge (RFC 9110 section 11.6.1).
type challenge struct {
	scheme string
	params map[string]string // lower-cased names
}

// maxChallengeHeader bounds the header text parsed, all the
// WWW-Authenticate values of an answer together: a server may send
// thousands of them (net/http reads 10 MiB of header), and each
// challenge costs a map.
const maxChallengeHeader = 8 << 10

// parseChallenges parses WWW-Authenticate header values into challenges.
// It is lenient about form and never fails: malformed parts are skipped,
// and so is the text beyond maxChallengeHeader.
func parseChallenges(values []string) []challenge {
	var out []challenge
	budget := maxChallengeHeader
	for _, v := range values {
		if budget <= 0 {
			break
		}
		if len(v) > budget {
			v = v[:budget]
		}
		budget -= len(v)
		p := challengeParser{s: v}
		out = p.parse(out)
	}
	return out
}

type challengeParser struct {
	s string
	i int
}

func (p *challengeParser) parse(out []challenge) []challenge {
	var cur *challenge
	for {
		p.skip(" \t,")
		if p.i >= len(p.s) {
			return out
		}
		name := p.token()
		if name == "" {
			p.i++ // not a token character: skip it
			continue
		}
		p.skip(" \t")
		if p.i < len(p.s) && p.s[p.i] == '=' && cur != nil && !p.token68Tail() {
			p.i++
			p.skip(" \t")
			val := p.value()
			key := strings.ToLower(name)
			if _, dup := cur.params[key]; !dup {
				cur.params[key] = val
			}
			continue
		}
		// A new challenge: scheme, then maybe a token68 we ignore.
		out = append(out, challenge{scheme: name, params: map[string]string{}})
		cur = &out[len(out)-1]
		save := p.i
		if t := p.token(); t != "" && p.token68Tail() {
			for p.i < len(p.s) && p.s[p.i] == '=' {
				p.i++
			}
		} else {
			p.i = save
		}
	}
}

// token68Tail reports whether the '='s at p.i end a token68 (followed by
// the end, a comma or whitespace) rather than start a parameter value.
func (p *challengeParser) token68Tail() bool {
	j := p.i
	if j >= len(p.s) || p.s[j] != '=' {
		return false
	}
	for j < len(p.s) && p.s[j] == '=' {
		j++
	}
	if j-p.i > 1 {
		return true
	}
	return j == len(p.s) || p.s[j] == ','
}

func (p *challengeParser) skip(chars string) {
	for p.i < len(p.s) && strings.IndexByte(chars, p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *challengeParser) token() string {
	start := p.i
	for p.i < len(p.s) && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// value reads a token or a quoted-string.
func (p *challengeParser) value() string {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return p.token()
	}
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\\' && p.i+1 < len(p.s):
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		case c == '"':
			p.i++
			return b.String()
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return b.String()
}

// isTokenChar reports whether c is an RFC 9110 tchar (plus '/', which
// token68 allows).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~/", c) >= 0
}

// bearerError returns the error attribute of the Bearer (or DPoP)
// challenge, if any.
func bearerError(values []string) string {
	for _, ch := range parseChallenges(values) {
		if strings.EqualFold(ch.scheme, "Bearer") || strings.EqualFold(ch.scheme, "DPoP") {
			if e := ch.params["error"]; e != "" {
				return e
			}
		}
	}
	return ""
}
