// Package widget is Jupyter widgets for Go cells: sliders (IntSlider,
// FloatSlider), Dropdown, Checkbox, Text, Button, an Output area and layout
// boxes (HBox, VBox), which JupyterLab's widget manager
// (@jupyter-widgets/jupyterlab-manager 5, ipywidgets 8's frontend) draws as
// live controls. A cell reads a control's value at any time (Value), and
// Observe registers a function called on each change; Interact re-runs a Go
// function with the controls' values and replaces its result in place.
//
//	layer, _ := widget.NewIntSlider("layer", 0, 5, 1, 0)
//	bits, _ := widget.NewDropdown("bits", []string{"8", "6", "4"}, "8")
//	widget.Interact(func(l int, b string) *figures.Figure { ... }, layer, bits)
//
// Its boundary: the widget models and the Jupyter widget message protocol
// 2.1 (comm target "jupyter.widget": comm_open with the full state,
// update/echo_update, request_state, custom messages; and the
// "jupyter.widget.control" target's request_states). It sends and receives
// through a Comms the kernel attaches (Attach); it knows nothing of sockets
// or Jupyter message framing, which are the kernel's (kernel/jupyter). With
// no kernel attached (headless runs, tests, plain Go programs), widgets work
// as values and render as their text form.
//
// Callbacks (Observe, OnClick, Interact's function) run on the kernel's
// shell goroutine while it handles the frontend's message, so they never
// run at the same time as a cell; while a cell runs, the frontend's changes
// wait for it to end.
package widget
