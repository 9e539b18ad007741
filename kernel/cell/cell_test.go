package cell

import (
	"context"
	"errors"
	"testing"
)

func TestBindContextAndInput(t *testing.T) {
	if got := Context(); got != context.Background() {
		t.Fatalf("unbound Context() = %v; want context.Background()", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var gotPrompt string
	var gotPassword bool
	restore := Bind(ctx, func(prompt string, password bool) (string, error) {
		gotPrompt, gotPassword = prompt, password
		return "42", nil
	})
	if Context() != ctx {
		t.Errorf("bound Context() is not the bound ctx")
	}
	if Interrupted() {
		t.Errorf("Interrupted() = true before cancel; want false")
	}
	cancel()
	if !Interrupted() {
		t.Errorf("Interrupted() = false after cancel; want true")
	}
	for _, tc := range []struct {
		name     string
		fn       func(string) (string, error)
		password bool
	}{{"Input", Input, false}, {"Password", Password, true}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.fn("n? ")
			if err != nil || s != "42" {
				t.Fatalf("got %q, %v; want \"42\", nil", s, err)
			}
			if gotPrompt != "n? " || gotPassword != tc.password {
				t.Errorf("got prompt %q password %v; want \"n? \" %v", gotPrompt, gotPassword, tc.password)
			}
		})
	}
	restore()
	if got := Context(); got != context.Background() {
		t.Errorf("Context() after restore = %v; want context.Background()", got)
	}
}

func TestInputError(t *testing.T) {
	defer Bind(nil, func(string, bool) (string, error) { return "", errors.New("stdin not allowed") })()
	_, err := Input("x")
	if !errors.Is(err, ErrNoInput) {
		t.Fatalf("got %v; want an error wrapping ErrNoInput", err)
	}
}
