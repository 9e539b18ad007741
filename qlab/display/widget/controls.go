package widget

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/qlab-dev/qlab/qlab/display"
)

// descriptionState is the state every labelled control shares.
func descriptionState(d string) map[string]any {
	return map[string]any{"description": d, "description_allow_html": false, "style": nil, "disabled": false}
}

// IntSlider is a slider over the integers min, min+step, ..., max.
type IntSlider struct{ m *model }

// NewIntSlider returns a slider labelled description, from min to max
// (inclusive) by step, at value. It is an error when min > max, step < 1
// or value is outside [min, max].
func NewIntSlider(description string, min, max, step, value int) (*IntSlider, error) {
	switch {
	case min > max:
		return nil, fmt.Errorf("widget: IntSlider %q: min %d > max %d", description, min, max)
	case step < 1:
		return nil, fmt.Errorf("widget: IntSlider %q: step %d; want 1 or more", description, step)
	case value < min || value > max:
		return nil, fmt.Errorf("widget: IntSlider %q: value %d outside [%d, %d]", description, value, min, max)
	}
	st := descriptionState(description)
	for k, v := range map[string]any{"min": min, "max": max, "step": step, "value": value,
		"orientation": "horizontal", "readout": true, "readout_format": "d",
		"continuous_update": false, "behavior": "drag-tap"} {
		st[k] = v
	}
	s := &IntSlider{m: newModelPending("IntSlider", controlsModule, controlsVersion, "IntSliderView", st)}
	s.m.accept["value"] = func(v any) (any, error) {
		n, err := jsonInt(v)
		if err != nil {
			return nil, err
		}
		return clampInt(n, min, max), nil
	}
	s.m.text = func() string {
		return fmt.Sprintf("IntSlider(%s%d in [%d, %d])", label(description), s.Value(), min, max)
	}
	s.m.publish()
	return s, nil
}

// ModelID returns the widget's model (comm) id.
func (s *IntSlider) ModelID() string { return s.m.id }

// Render returns the widget's view bundle with its text form.
func (s *IntSlider) Render() display.Data { return s.m.render() }

// Value returns the slider's value.
func (s *IntSlider) Value() int { return s.m.get("value").(int) }

// Interface returns Value as an any, for Interact.
func (s *IntSlider) Interface() any { return s.Value() }

// SetValue moves the slider; v is clamped to [min, max].
func (s *IntSlider) SetValue(v int) error {
	min, max := s.m.get("min").(int), s.m.get("max").(int)
	return s.m.set(map[string]any{"value": clampInt(v, min, max)})
}

// Observe calls f with the new value after each change.
func (s *IntSlider) Observe(f func(value int)) {
	if f != nil {
		s.m.observe(func() { f(s.Value()) })
	}
}

// OnChange calls f after each change.
func (s *IntSlider) OnChange(f func()) { s.m.observe(f) }

// String is the slider's text form.
func (s *IntSlider) String() string { return s.m.text() }

// FloatSlider is a slider over [min, max] in steps of step.
type FloatSlider struct{ m *model }

// NewFloatSlider returns a slider labelled description, from min to max by
// step, at value. It is an error when a bound is not finite, min > max,
// step <= 0 or value is outside [min, max].
func NewFloatSlider(description string, min, max, step, value float64) (*FloatSlider, error) {
	for _, x := range []float64{min, max, step, value} {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("widget: FloatSlider %q: min, max, step and value must be finite (got %v, %v, %v, %v)", description, min, max, step, value)
		}
	}
	switch {
	case min > max:
		return nil, fmt.Errorf("widget: FloatSlider %q: min %v > max %v", description, min, max)
	case step <= 0:
		return nil, fmt.Errorf("widget: FloatSlider %q: step %v; want > 0", description, step)
	case value < min || value > max:
		return nil, fmt.Errorf("widget: FloatSlider %q: value %v outside [%v, %v]", description, value, min, max)
	}
	st := descriptionState(description)
	for k, v := range map[string]any{"min": min, "max": max, "step": step, "value": value,
		"orientation": "horizontal", "readout": true, "readout_format": ".2f",
		"continuous_update": false, "behavior": "drag-tap"} {
		st[k] = v
	}
	s := &FloatSlider{m: newModelPending("FloatSlider", controlsModule, controlsVersion, "FloatSliderView", st)}
	s.m.accept["value"] = func(v any) (any, error) {
		x, ok := v.(float64)
		if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("want a finite number, got %T %v", v, v)
		}
		return math.Min(max, math.Max(min, x)), nil
	}
	s.m.text = func() string {
		return fmt.Sprintf("FloatSlider(%s%g in [%g, %g])", label(description), s.Value(), min, max)
	}
	s.m.publish()
	return s, nil
}

// ModelID returns the widget's model (comm) id.
func (s *FloatSlider) ModelID() string { return s.m.id }

// Render returns the widget's view bundle with its text form.
func (s *FloatSlider) Render() display.Data { return s.m.render() }

// Value returns the slider's value.
func (s *FloatSlider) Value() float64 { return s.m.get("value").(float64) }

// Interface returns Value as an any, for Interact.
func (s *FloatSlider) Interface() any { return s.Value() }

// SetValue moves the slider; v is clamped to [min, max]. NaN is an error.
func (s *FloatSlider) SetValue(v float64) error {
	if math.IsNaN(v) {
		return errors.New("widget: FloatSlider.SetValue: NaN")
	}
	min, max := s.m.get("min").(float64), s.m.get("max").(float64)
	return s.m.set(map[string]any{"value": math.Min(max, math.Max(min, v))})
}

// Observe calls f with the new value after each change.
func (s *FloatSlider) Observe(f func(value float64)) {
	if f != nil {
		s.m.observe(func() { f(s.Value()) })
	}
}

// OnChange calls f after each change.
func (s *FloatSlider) OnChange(f func()) { s.m.observe(f) }

// String is the slider's text form.
func (s *FloatSlider) String() string { return s.m.text() }

// Dropdown picks one of a list of strings.
type Dropdown struct {
	m       *model
	options []string
}

// NewDropdown returns a dropdown labelled description over options, with
// value selected. It is an error when options is empty, has duplicates,
// or does not contain value.
func NewDropdown(description string, options []string, value string) (*Dropdown, error) {
	if len(options) == 0 {
		return nil, fmt.Errorf("widget: Dropdown %q: no options", description)
	}
	index := -1
	seen := map[string]bool{}
	for i, o := range options {
		if seen[o] {
			return nil, fmt.Errorf("widget: Dropdown %q: option %q twice", description, o)
		}
		seen[o] = true
		if o == value {
			index = i
		}
	}
	if index < 0 {
		return nil, fmt.Errorf("widget: Dropdown %q: value %q is not one of %q", description, value, options)
	}
	opts := append([]string(nil), options...)
	st := descriptionState(description)
	st["_options_labels"] = opts
	st["index"] = index
	d := &Dropdown{m: newModelPending("Dropdown", controlsModule, controlsVersion, "DropdownView", st), options: opts}
	d.m.accept["index"] = func(v any) (any, error) {
		n, err := jsonInt(v)
		if err != nil {
			return nil, err
		}
		if n < 0 || n >= len(opts) {
			return nil, fmt.Errorf("index %d outside [0, %d)", n, len(opts))
		}
		return n, nil
	}
	d.m.text = func() string {
		return fmt.Sprintf("Dropdown(%s%q of %q)", label(description), d.Value(), opts)
	}
	d.m.publish()
	return d, nil
}

// ModelID returns the widget's model (comm) id.
func (d *Dropdown) ModelID() string { return d.m.id }

// Render returns the widget's view bundle with its text form.
func (d *Dropdown) Render() display.Data { return d.m.render() }

// Index returns the position of the selected option.
func (d *Dropdown) Index() int { return d.m.get("index").(int) }

// Value returns the selected option.
func (d *Dropdown) Value() string { return d.options[d.Index()] }

// Interface returns Value as an any, for Interact.
func (d *Dropdown) Interface() any { return d.Value() }

// SetValue selects option v; it is an error when v is not an option.
func (d *Dropdown) SetValue(v string) error {
	for i, o := range d.options {
		if o == v {
			return d.m.set(map[string]any{"index": i})
		}
	}
	return fmt.Errorf("widget: Dropdown.SetValue: %q is not one of %q", v, d.options)
}

// Observe calls f with the new value after each change.
func (d *Dropdown) Observe(f func(value string)) {
	if f != nil {
		d.m.observe(func() { f(d.Value()) })
	}
}

// OnChange calls f after each change.
func (d *Dropdown) OnChange(f func()) { d.m.observe(f) }

// String is the dropdown's text form.
func (d *Dropdown) String() string { return d.m.text() }

// Checkbox is a boolean control.
type Checkbox struct{ m *model }

// NewCheckbox returns a checkbox labelled description, checked when value.
func NewCheckbox(description string, value bool) *Checkbox {
	st := descriptionState(description)
	st["value"] = value
	st["indent"] = true
	c := &Checkbox{m: newModelPending("Checkbox", controlsModule, controlsVersion, "CheckboxView", st)}
	c.m.accept["value"] = func(v any) (any, error) {
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want a boolean, got %T %v", v, v)
		}
		return b, nil
	}
	c.m.text = func() string { return fmt.Sprintf("Checkbox(%s%v)", label(description), c.Value()) }
	c.m.publish()
	return c
}

// ModelID returns the widget's model (comm) id.
func (c *Checkbox) ModelID() string { return c.m.id }

// Render returns the widget's view bundle with its text form.
func (c *Checkbox) Render() display.Data { return c.m.render() }

// Value reports whether the box is checked.
func (c *Checkbox) Value() bool { return c.m.get("value").(bool) }

// Interface returns Value as an any, for Interact.
func (c *Checkbox) Interface() any { return c.Value() }

// SetValue checks or unchecks the box.
func (c *Checkbox) SetValue(v bool) error { return c.m.set(map[string]any{"value": v}) }

// Observe calls f with the new value after each change.
func (c *Checkbox) Observe(f func(value bool)) {
	if f != nil {
		c.m.observe(func() { f(c.Value()) })
	}
}

// OnChange calls f after each change.
func (c *Checkbox) OnChange(f func()) { c.m.observe(f) }

// String is the checkbox's text form.
func (c *Checkbox) String() string { return c.m.text() }

// Text is a one-line text field. Its value reaches Go when the user
// presses Enter or leaves the field (continuous_update off).
type Text struct{ m *model }

// NewText returns a text field labelled description holding value.
func NewText(description, value string) *Text {
	st := descriptionState(description)
	st["value"] = value
	st["placeholder"] = ""
	st["continuous_update"] = false
	t := &Text{m: newModelPending("Text", controlsModule, controlsVersion, "TextView", st)}
	t.m.accept["value"] = func(v any) (any, error) {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %T %v", v, v)
		}
		return s, nil
	}
	t.m.text = func() string { return fmt.Sprintf("Text(%s%q)", label(description), t.Value()) }
	t.m.publish()
	return t
}

// ModelID returns the widget's model (comm) id.
func (t *Text) ModelID() string { return t.m.id }

// Render returns the widget's view bundle with its text form.
func (t *Text) Render() display.Data { return t.m.render() }

// Value returns the field's text.
func (t *Text) Value() string { return t.m.get("value").(string) }

// Interface returns Value as an any, for Interact.
func (t *Text) Interface() any { return t.Value() }

// SetValue replaces the field's text.
func (t *Text) SetValue(v string) error { return t.m.set(map[string]any{"value": v}) }

// Observe calls f with the new value after each change.
func (t *Text) Observe(f func(value string)) {
	if f != nil {
		t.m.observe(func() { f(t.Value()) })
	}
}

// OnChange calls f after each change.
func (t *Text) OnChange(f func()) { t.m.observe(f) }

// String is the field's text form.
func (t *Text) String() string { return t.m.text() }

// Button calls its OnClick functions when clicked.
type Button struct {
	m      *model
	clicks int
}

// NewButton returns a button labelled description.
func NewButton(description string) *Button {
	st := descriptionState(description)
	st["button_style"] = ""
	st["icon"] = ""
	b := &Button{m: newModelPending("Button", controlsModule, controlsVersion, "ButtonView", st)}
	b.m.onCustom = func(content map[string]any) error {
		if ev, _ := content["event"].(string); ev != "click" {
			return fmt.Errorf("widget Button %s: unknown event %v", b.m.id, content["event"])
		}
		b.m.mu.Lock()
		b.clicks++
		b.m.mu.Unlock()
		b.m.notify()
		return nil
	}
	b.m.text = func() string { return fmt.Sprintf("Button(%q)", description) }
	b.m.publish()
	return b
}

// ModelID returns the widget's model (comm) id.
func (b *Button) ModelID() string { return b.m.id }

// Render returns the widget's view bundle with its text form.
func (b *Button) Render() display.Data { return b.m.render() }

// OnClick calls f after each click.
func (b *Button) OnClick(f func()) { b.m.observe(f) }

// Clicks returns how many times the button was clicked.
func (b *Button) Clicks() int {
	b.m.mu.Lock()
	defer b.m.mu.Unlock()
	return b.clicks
}

// String is the button's text form.
func (b *Button) String() string { return b.m.text() }

// label is "description: " or "".
func label(d string) string {
	if d == "" {
		return ""
	}
	return strings.TrimSuffix(d, ":") + ": "
}

func clampInt(v, min, max int) int {
	if v < min {
		return min
	}
	if v > max {
		return max
	}
	return v
}

// jsonInt converts a JSON number (float64 once decoded) to an int; it is an
// error when v is not a number or not integral.
func jsonInt(v any) (int, error) {
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, fmt.Errorf("want an integer, got %s", strconv.FormatFloat(x, 'g', -1, 64))
		}
		return int(x), nil
	case int:
		return x, nil
	}
	return 0, fmt.Errorf("want an integer, got %T %v", v, v)
}
