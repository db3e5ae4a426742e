package filter

import "fmt"

type tokKind uint8

const (
	tWord   tokKind = iota // keyword, number, address, range
	tLParen                // (
	tRParen                // )
	tNot                   // ! (the word "not" is a tWord)
	tAnd                   // &&
	tOr                    // ||
	tOther                 // operators of the unsupported arithmetic syntax
	tEOF
)

type token struct {
	kind tokKind
	text string
	off  int // byte offset in the expression
}

// isWordByte says which bytes make up words: keywords, numbers, IPv4 and
// IPv6 addresses with a prefix length, MAC addresses, port ranges (80-88)
// and backslash-escaped protocol names (\tcp).
func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == ':' || c == '/' || c == '-' || c == '_' || c == '\\'
}

// lex splits expr into tokens; it ends the list with a tEOF token at the
// end of the expression.
func lex(expr string) ([]token, error) {
	var toks []token
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isWordByte(c):
			j := i
			for j < len(expr) && isWordByte(expr[j]) {
				j++
			}
			toks = append(toks, token{tWord, expr[i:j], i})
			i = j
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
			i++
		case c == '!' && (i+1 == len(expr) || expr[i+1] != '='):
			toks = append(toks, token{tNot, "!", i})
			i++
		case c == '&' && i+1 < len(expr) && expr[i+1] == '&':
			toks = append(toks, token{tAnd, "&&", i})
			i += 2
		case c == '|' && i+1 < len(expr) && expr[i+1] == '|':
			toks = append(toks, token{tOr, "||", i})
			i += 2
		case c == '[' || c == ']' || c == '<' || c == '>' || c == '=' || c == '!' ||
			c == '&' || c == '|' || c == '+' || c == '*' || c == '%' || c == '^':
			j := i + 1
			if j < len(expr) && (expr[j] == '=' || expr[j] == c && (c == '<' || c == '>')) {
				j++
			}
			toks = append(toks, token{tOther, expr[i:j], i})
			i = j
		default:
			return nil, fmt.Errorf("filter: unexpected character %q at offset %d", c, i)
		}
	}
	return append(toks, token{tEOF, "", len(expr)}), nil
}
