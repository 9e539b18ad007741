package interp

import (
	"errors"
	"go/parser"
	"go/scanner"
	"go/token"
	"strings"
)

// IsComplete tells a frontend's console whether code can run as is:
// "incomplete" (with the indent for the next line) when a bracket, brace or
// parenthesis is open, a string or comment is unterminated, or the code ends
// in an operator, comma or period; "invalid" when a closing bracket does not
// match (no appended text can fix it); "complete" otherwise.
func (in *Interpreter) IsComplete(code string) (status, indent string) {
	var stack []token.Token
	unterminated := false
	fset := token.NewFileSet()
	f := fset.AddFile("", -1, len(code))
	var s scanner.Scanner
	s.Init(f, []byte(code), func(_ token.Position, msg string) {
		if strings.Contains(msg, "not terminated") {
			unterminated = true
		}
	}, scanner.ScanComments)
	last := token.ILLEGAL
	for {
		_, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		switch t {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			stack = append(stack, t)
		case token.RPAREN, token.RBRACK, token.RBRACE:
			open := map[token.Token]token.Token{token.RPAREN: token.LPAREN, token.RBRACK: token.LBRACK, token.RBRACE: token.LBRACE}[t]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return "invalid", ""
			}
			stack = stack[:len(stack)-1]
		case token.COMMENT:
			continue
		case token.SEMICOLON:
			if lit == "\n" {
				// An inserted semicolon says the line ended a statement.
				continue
			}
		}
		last = t
	}
	cur := currentIndent(code)
	if unterminated {
		return "incomplete", ""
	}
	if len(stack) > 0 {
		return "incomplete", cur + "\t"
	}
	if continues(last) {
		return "incomplete", cur + "\t"
	}
	return parseStatus(code), ""
}

// parseStatus parses each chunk of a bracket-balanced cell: a syntax error
// at the very end means more text can complete it ("incomplete": if x,
// for), one before the end that nothing appended can fix ("invalid").
func parseStatus(code string) string {
	end := len(strings.TrimRight(code, " \t\r\n"))
	chunks, trailing := split(code)
	if trailing != nil {
		chunks = append(chunks, *trailing)
	}
	for _, c := range chunks {
		prefix, suffix := "package p\n", ""
		if c.kind == chunkStmt {
			prefix, suffix = "package p;func _(){\n", "\n}"
		}
		fset := token.NewFileSet()
		_, err := parser.ParseFile(fset, "", prefix+strings.Repeat(" ", c.off)+c.src+suffix, 0)
		var list scanner.ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			continue
		}
		if off := list[0].Pos.Offset - len(prefix); off >= end {
			return "incomplete"
		}
		return "invalid"
	}
	return "complete"
}

// continues reports whether a line ending in t cannot end a statement.
func continues(t token.Token) bool {
	switch {
	case t == token.COMMA, t == token.PERIOD, t == token.COLON:
		return true
	case t.IsOperator():
		switch t {
		case token.RPAREN, token.RBRACK, token.RBRACE, token.SEMICOLON, token.INC, token.DEC, token.ELLIPSIS:
			return false
		}
		return true
	}
	return false
}

// currentIndent returns the leading white space of code's last line.
func currentIndent(code string) string {
	line := code[strings.LastIndex(code, "\n")+1:]
	return line[:len(line)-len(strings.TrimLeft(line, " \t"))]
}
