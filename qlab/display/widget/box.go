package widget

import (
	"fmt"
	"strings"

	"github.com/qlab-dev/qlab/qlab/display"
)

// Box lays its children out in a row (HBox) or a column (VBox).
type Box struct {
	m        *model
	children []Widget
}

// NewHBox returns a row of children.
func NewHBox(children ...Widget) (*Box, error) { return newBox("HBox", children) }

// NewVBox returns a column of children.
func NewVBox(children ...Widget) (*Box, error) { return newBox("VBox", children) }

func newBox(kind string, children []Widget) (*Box, error) {
	refs := make([]string, len(children))
	for i, c := range children {
		if c == nil {
			return nil, fmt.Errorf("widget: %s: child %d is nil", kind, i)
		}
		refs[i] = "IPY_MODEL_" + c.ModelID()
	}
	st := map[string]any{"children": refs, "box_style": ""}
	b := &Box{m: newModelPending(kind, controlsModule, controlsVersion, kind+"View", st),
		children: append([]Widget(nil), children...)}
	b.m.text = func() string {
		lines := make([]string, 0, len(b.children))
		for _, c := range b.children {
			lines = append(lines, c.Render().Text())
		}
		sep := "\n"
		if kind == "HBox" {
			sep = "  "
		}
		return strings.Join(lines, sep)
	}
	b.m.publish()
	return b, nil
}

// ModelID returns the widget's model (comm) id.
func (b *Box) ModelID() string { return b.m.id }

// Render returns the widget's view bundle with its text form: its
// children's text forms.
func (b *Box) Render() display.Data { return b.m.render() }

// Children returns the box's children.
func (b *Box) Children() []Widget { return append([]Widget(nil), b.children...) }

// String is the box's text form.
func (b *Box) String() string { return b.m.text() }
